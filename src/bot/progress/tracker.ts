/**
 * Live progress on Discord: each request's message is re-rendered from its
 * rows when something changes (a NOTIFY event, a model choice, a delivery),
 * and the edits follow src/domain/deliveryPolicy.ts per message: latest
 * render wins, at most one edit per 2 s, the final state always goes out,
 * the interaction reply (`@original`, webhook with the interaction token) is
 * left for a channel message (bot token) before the token expires or when it
 * is refused with 401.
 *
 * What was last shown (progress_hash, progress_edited_at), the channel
 * message and when it was posted are written to the request row after every
 * edit, so a restarted bot rebuilds the state (initialDeliveryState) and
 * carries on without repeating an edit or going backwards.
 *
 * @discordjs/rest already waits out a 429's Retry-After and retries; when a
 * 429 still surfaces, the policy gets `rate_limited` with 0 ms so the two
 * never wait twice.
 */
import { Routes, type APIMessage } from 'discord.js';
import { initialDeliveryState, step, type DeliveryAction, type DeliveryEvent, type ProgressDeliveryState } from '../../domain/deliveryPolicy.ts';
import { payloadHash, renderMovedNotice, type MessagePayload } from '../../domain/messages.ts';
import { isTokenRefused, restFailure } from '../delivery/restErrors.ts';
import type { BotDeps } from '../deps.ts';
import { recordProgressEdited, recordProgressPosted, type MessageTable } from '../../requests/store.ts';
import type { Orm } from '../../db/orm.ts';
import type { MessageRow } from '../../requests/view.ts';

/** What the tracker edits: a single request's message, or an album's or playlist's. */
export interface ProgressSource<Row extends MessageRow> {
  table: MessageTable;
  /** undefined: nothing to show (gone, or shown by another message). */
  load(orm: Orm, id: string): Promise<Row | undefined>;
  render(row: Row): { payload: MessagePayload; final: boolean };
}

interface Entry<Row> {
  state: ProgressDeliveryState;
  payloads: Map<string, MessagePayload>;
  row: Row;
  timer: NodeJS.Timeout | undefined;
}

export class ProgressTracker<Row extends MessageRow> {
  private readonly deps: () => BotDeps;
  private readonly source: ProgressSource<Row>;
  private readonly entries = new Map<string, Entry<Row>>();
  /** Serialises renders and sends per message. */
  private readonly chains = new Map<string, Promise<void>>();
  private closed = false;
  /** Called once a message exists (first successful edit) with its id. */
  onMessage: (id: string, row: Row, messageId: string) => void = () => undefined;

  constructor(deps: () => BotDeps, source: ProgressSource<Row>) {
    this.deps = deps;
    this.source = source;
  }

  /** Re-render a request's (or batch's) message and deliver it according to the policy. Never throws. */
  refresh(requestId: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    const run = async () => {
      const row = await this.source.load(this.deps().orm, requestId);
      if (!row) return;
      let entry = this.entries.get(requestId);
      if (!entry) {
        const state = initialDeliveryState({
          interactionExpiresAt: row.interaction_expires_at.getTime(),
          postedAt: (row.progress_message_posted_at ?? row.inserted_at).getTime(),
          channelMessageId: row.channel_message_id,
          deliveredHash: row.progress_hash,
          lastEditAt: row.progress_edited_at?.getTime() ?? null,
        });
        entry = { state, payloads: new Map(), row, timer: undefined };
        this.entries.set(requestId, entry);
      }
      entry.row = row;
      const { payload, final } = this.source.render(row);
      const hash = payloadHash(payload);
      entry.payloads.set(hash, payload);
      await this.apply(requestId, entry, { type: 'render', hash, final });
    };
    return this.enqueue(requestId, run);
  }

  private what(id: string): string {
    return `${this.source.table === 'batches' ? 'batch' : 'request'} ${id}`;
  }

  private enqueue(requestId: string, work: () => Promise<void>): Promise<void> {
    const next = (this.chains.get(requestId) ?? Promise.resolve()).then(work).catch((error: unknown) => {
      this.deps().log.warn(`progress of ${this.what(requestId)}: ${(error as Error).message}`);
    });
    this.chains.set(requestId, next);
    void next.then(() => {
      if (this.chains.get(requestId) === next) this.chains.delete(requestId);
    });
    return next;
  }

  private async apply(requestId: string, entry: Entry<Row>, event: DeliveryEvent): Promise<void> {
    const result = step(entry.state, event, Date.now());
    entry.state = result.state;
    for (const action of result.actions) await this.run(requestId, entry, action);
    if (entry.state.phase !== 'active' && !entry.state.inFlight) {
      if (entry.timer) clearTimeout(entry.timer);
      this.entries.delete(requestId);
    }
  }

  private async run(requestId: string, entry: Entry<Row>, action: DeliveryAction): Promise<void> {
    const { rest, orm, log } = this.deps();
    const row = entry.row;
    switch (action.type) {
      case 'wake': {
        if (entry.timer) clearTimeout(entry.timer);
        entry.timer = setTimeout(() => {
          entry.timer = undefined;
          if (this.closed) return;
          void this.enqueue(requestId, () => (this.entries.get(requestId) === entry ? this.apply(requestId, entry, { type: 'tick' }) : Promise.resolve()));
        }, Math.max(0, action.at - Date.now()));
        return;
      }
      case 'abandon':
        log.warn(`${this.what(requestId)}: progress message abandoned (${action.reason})`);
        return;
      case 'retire': {
        const newId = entry.state.target.via === 'channel' ? entry.state.target.messageId : null;
        const url = newId && row.guild_id ? `https://discord.com/channels/${row.guild_id}/${row.channel_id}/${newId}` : null;
        const body = renderMovedNotice(url);
        try {
          if (action.target.via === 'interaction') {
            await rest.patch(Routes.webhookMessage(row.application_id, row.interaction_token, '@original'), { body, auth: false });
          } else await rest.patch(Routes.channelMessage(row.channel_id, action.target.messageId), { body });
        } catch (error) {
          log.warn(`${this.what(requestId)}: pointing the old message at the new one failed: ${restFailure(error).text}`);
        }
        return;
      }
      case 'edit':
      case 'post': {
        const payload = entry.payloads.get(action.hash)!;
        const body = { content: payload.content ?? '', embeds: payload.embeds ?? [], allowed_mentions: payload.allowed_mentions };
        let event: DeliveryEvent;
        let messageId: string | undefined;
        try {
          if (action.type === 'post') {
            const message = (await rest.post(Routes.channelMessages(row.channel_id), { body })) as APIMessage;
            messageId = message.id;
            event = { type: 'posted', messageId };
          } else if (action.target.via === 'interaction') {
            const message = (await rest.patch(Routes.webhookMessage(row.application_id, row.interaction_token, '@original'), { body, auth: false })) as APIMessage;
            messageId = message.id;
            event = { type: 'edited' };
          } else {
            await rest.patch(Routes.channelMessage(row.channel_id, action.target.messageId), { body });
            event = { type: 'edited' };
          }
        } catch (error) {
          event = failureEvent(error, action.type === 'edit' ? action.target.via : 'channel');
          log.warn(`${this.what(requestId)}: progress ${action.type} failed: ${restFailure(error).text}`);
        }
        if (event.type === 'edited' || event.type === 'posted') {
          const now = new Date();
          if (event.type === 'posted') {
            await recordProgressPosted(orm, this.source.table, requestId, action.hash, now, event.messageId);
          } else {
            await recordProgressEdited(orm, this.source.table, requestId, action.hash, now, messageId ?? null);
            if (messageId && row.message_id === null) {
              row.message_id = messageId;
              this.onMessage(requestId, row, messageId);
            }
          }
        }
        await this.apply(requestId, entry, event);
        return;
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const entry of this.entries.values()) if (entry.timer) clearTimeout(entry.timer);
    await Promise.all([...this.chains.values()]);
    this.entries.clear();
  }
}

function failureEvent(error: unknown, via: 'interaction' | 'channel'): DeliveryEvent {
  const f = restFailure(error);
  if (via === 'interaction' && isTokenRefused(f)) return { type: 'token_expired' };
  if (f.code === 30046) return { type: 'too_old' };
  if (f.status === 429) return { type: 'rate_limited', retryAfterMs: 0 };
  if (f.status === 404 || f.status === 403 || f.code === 10008 || f.code === 10003 || f.code === 50001) return { type: 'gone' };
  return { type: 'failed' };
}
