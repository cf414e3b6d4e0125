/**
 * Uploads a request's stems to Discord following the attachment plan
 * (src/domain/attachmentPlan.ts): each stem encoded to fit the upload limit,
 * at most 10 files per message, the text from src/domain/messages.ts.
 *
 * - The real size of each encoded file is checked before upload; a file that
 *   turned out larger than estimated steps down as after a 413.
 * - A 413 from Discord (the real limit is lower than planned) steps the
 *   largest file of that message down (afterTooLarge), and every file at least
 *   as large, then the same message is sent again.
 * - A stem that fits no encoding is a signed, expiring link to the bot's file
 *   server, listed in the first message (none without PUBLIC_BASE_URL).
 * - The first message lists every stem; if later messages change what it
 *   says (a step-down, a failed upload), it is edited to match.
 *
 * Nothing fails silently: every stem's outcome is returned for the caller to
 * store. The target is a parameter: the interaction's webhook (`@original`
 * edit or followups; the interaction token is the credential) or a channel
 * message with the bot token (after the 15-minute token has expired).
 */
import { readFile, stat } from 'node:fs/promises';
import { makeURLSearchParams, type RawFile, type REST } from '@discordjs/rest';
import { Routes, type APIMessage } from 'discord.js';
import {
  afterTooLarge,
  planAttachments,
  resolveLimit,
  type AttachDelivery,
  type Encoding,
  type StemDelivery,
  type StemFile,
  type StoredFormat,
} from '../../domain/attachmentPlan.ts';
import { NO_PLAYER_LINK, payloadHash, renderStemsMessages, type FileLink, type MessagePayload, type StemsView, type TrackCard } from '../../domain/messages.ts';
import { playerExpiry, playerUrl } from '../../domain/playerLink.ts';
import type { ModelName } from '../../domain/modelCatalog.ts';
import { expiryFrom, signedUrl } from '../../domain/signedLink.ts';
import { EncodeError, storedFormatOf, type EncodedFile, type StemEncoder } from './encode.ts';
import { isTooLarge, restFailure, type RestFailure } from './restErrors.ts';
import { currentPlan, fits, tooLargeFrom, withUndelivered, type Undelivered } from './stemsPlan.ts';

/** How long a file link stays valid by default: a week. */
export const DEFAULT_LINK_TTL_SECONDS = 7 * 24 * 3600;
/** SFA_PLAYER_LINK_DAYS' default. */
export const DEFAULT_PLAYER_DAYS = 7;

export interface StemSource {
  /** The Stem row's id (a uuid); links name it. */
  id: string;
  /** Shown to the user and used for the file name, e.g. "vocals". */
  name: string;
  /** The Stem row's file_path. */
  filePath: string;
  /** Seconds (the track's duration); null: measured from the file. */
  durationSeconds: number | null;
}

export type StemsTarget =
  /** Through the interaction's webhook: the first message edits the original response, or every message is a followup. */
  | { via: 'interaction'; applicationId: string; token: string; first: 'edit_original' | 'followup' }
  /** With the bot token: new messages in the channel. */
  | { via: 'channel'; channelId: string };

export interface LinkSettings {
  /** PUBLIC_BASE_URL: where the file server is reached. */
  publicBaseUrl: string;
  secret: string;
  ttlSeconds?: number;
  /** Lifetime of the stem player link (SFA_PLAYER_LINK_DAYS); default 7. */
  playerDays?: number;
}

export interface DeliverStemsOptions {
  /** @discordjs/rest; needs the bot token for a channel target (webhook calls are sent without it). */
  rest: REST;
  target: StemsTarget;
  requesterId: string;
  track: TrackCard;
  model: ModelName;
  /** The stems came from earlier work. */
  cached?: boolean;
  stems: readonly StemSource[];
  /** The processing job whose stems these are: the message links the stem player for it. */
  stemSetId?: string;
  /** The interaction's attachment_size_limit (requests.attachment_size_limit); null: Discord's default. */
  limitBytes?: number | null;
  requestedFormat?: StoredFormat;
  /** undefined: no file server (PUBLIC_BASE_URL unset), so stems that cannot be attached are not delivered. */
  links?: LinkSettings;
  encoder: StemEncoder;
  /** Epoch ms; for link expiry. */
  now?: () => number;
  signal?: AbortSignal;
}

export type StemOutcome =
  | {
      stemId: string;
      name: string;
      status: 'attached';
      encoding: Encoding;
      fileName: string;
      bytes: number;
      messageId: string;
      /** A lossy copy was attached; the stored file is offered here. */
      fullQualityUrl?: string;
    }
  | { stemId: string; name: string; status: 'linked'; reason: 'too_large' | 'unknown_duration'; url: string; expiresAt: number }
  | { stemId: string; name: string; status: 'failed'; reason: string };

export interface SendFailure {
  /** 1-based message number. */
  message: number;
  status: number | undefined;
  code: number | string | undefined;
  text: string;
}

export interface StemsDeliveryResult {
  /** delivered: every stem attached or linked; partial: some failed; failed: none arrived. */
  state: 'delivered' | 'partial' | 'failed';
  /** One per stem, in input order. */
  outcomes: StemOutcome[];
  messageIds: string[];
  /** Requests Discord refused (not counting 413s that were handled by stepping down). */
  failures: SendFailure[];
}

export const NO_FILE_SERVER_REASON = 'too large to attach, and the bot has no file server (PUBLIC_BASE_URL is not set)';

interface Entry {
  source: StemSource;
  file: StemFile;
  delivery: StemDelivery;
  encoded: EncodedFile | undefined;
}

const CONTENT_TYPES: Record<string, string> = { mp3: 'audio/mpeg', ogg: 'audio/ogg', wav: 'audio/wav', flac: 'audio/flac' };

class Cancelled extends Error {}

export async function deliverStems(options: DeliverStemsOptions): Promise<StemsDeliveryResult> {
  const { rest, target, encoder, signal } = options;
  const limitBytes = resolveLimit(options.limitBytes);
  const now = options.now ?? Date.now;
  const failed = new Map<string, string>();
  const sendFailures: SendFailure[] = [];
  const checkCancelled = () => {
    if (signal?.aborted) throw new Cancelled();
  };

  // 1. What is on disk: format, size, duration.
  const entries: Entry[] = [];
  const described: { source: StemSource; file: StemFile }[] = [];
  // The stems of one separation are as long as each other: one ffprobe that could tell serves them all.
  let probed: number | null | undefined;
  for (const source of options.stems) {
    const format = storedFormatOf(source.filePath);
    const info = await stat(source.filePath).catch(() => undefined);
    if (!format) failed.set(source.id, 'the stem file has an unexpected format');
    else if (!info?.isFile()) failed.set(source.id, 'the stem file is missing');
    else {
      const durationSeconds = source.durationSeconds ?? (probed ??= await encoder.probeDuration(source.filePath, signal));
      described.push({ source, file: { id: source.id, name: source.name, durationSeconds, sizeBytes: info.size, format } });
    }
  }
  const plan = planAttachments(
    described.map((d) => d.file),
    { limitBytes, ...(options.requestedFormat ? { requestedFormat: options.requestedFormat } : {}) },
  );
  described.forEach((d, i) => entries.push({ ...d, delivery: plan.stems[i]!, encoded: undefined }));

  const links: Record<string, FileLink> = {};
  if (options.links) {
    const expiresAt = expiryFrom(now(), options.links.ttlSeconds ?? DEFAULT_LINK_TTL_SECONDS);
    for (const e of entries) links[e.source.id] = { url: signedUrl(options.links.publicBaseUrl, options.links.secret, e.source.id, expiresAt), expiresAt: expiresAt * 1000 };
  }

  let player: StemsView['player'];
  if (options.stemSetId) {
    if (options.links) {
      const expiresAt = playerExpiry(now(), options.links.playerDays ?? DEFAULT_PLAYER_DAYS);
      player = { link: { url: playerUrl(options.links.publicBaseUrl, options.links.secret, options.stemSetId, expiresAt), expiresAt: expiresAt * 1000 } };
    } else {
      player = { unavailable: NO_PLAYER_LINK };
    }
  }

  // 2. Encode; step down while the real file does not fit.
  let tooLargeAt: number | undefined;
  const prepare = async (e: Entry) => {
    while (e.delivery.kind === 'attach') {
      checkCancelled();
      try {
        e.encoded = await encoder.encode({ stemId: e.source.id, filePath: e.source.filePath, encoding: e.delivery.encoding, ...(signal ? { signal } : {}) });
      } catch (error) {
        if (error instanceof EncodeError && error.code === 'cancelled') throw new Cancelled();
        failed.set(e.source.id, error instanceof EncodeError ? `could not encode it (${error.message})` : `could not encode it (${String(error)})`);
        e.encoded = undefined;
        return;
      }
      if (fits(e.encoded.bytes, limitBytes, tooLargeAt)) {
        e.delivery = { ...e.delivery, bytes: e.encoded.bytes };
        return;
      }
      e.delivery = afterTooLarge(e.delivery.encoding, e.file);
      e.encoded = undefined;
    }
  };

  const sent: AttachDelivery[][] = [];
  const messageIds: string[] = [];
  let first: { id: string; shown: string } | undefined;
  const live = () => entries.filter((e) => !failed.has(e.source.id));
  const undelivered = (): Undelivered[] =>
    options.stems.filter((s) => failed.has(s.id)).map((s) => ({ name: s.name, reason: failed.get(s.id)! }));
  const render = () => {
    const current = currentPlan(limitBytes, live().map((e) => e.delivery), sent);
    const payloads = renderStemsMessages({ requesterId: options.requesterId, track: options.track, model: options.model, plan: current, links, ...(player ? { player } : {}), ...(options.cached ? { cached: true } : {}) });
    payloads[0] = withUndelivered(payloads[0]!, undelivered());
    return { current, payloads };
  };
  const shownHash = (p: MessagePayload) => payloadHash({ content: p.content ?? '', embeds: p.embeds ?? [], allowed_mentions: p.allowed_mentions });

  try {
    for (const e of entries) await prepare(e);

    // 3. One message at a time, in order.
    for (;;) {
      checkCancelled();
      const { current, payloads } = render();
      const index = sent.length;
      if (index > 0 && index >= current.messages.length) break;
      const group = current.messages[index] ?? [];
      const byId = new Map(entries.map((e) => [e.source.id, e]));
      const files: RawFile[] = [];
      let unreadable = false;
      for (const d of group) {
        const e = byId.get(d.stem.id)!;
        try {
          files.push({ name: d.fileName, data: await readFile(e.encoded!.path), contentType: CONTENT_TYPES[e.encoded!.extension] ?? 'application/octet-stream' });
        } catch {
          failed.set(d.stem.id, 'its file vanished before the upload');
          unreadable = true;
        }
      }
      if (unreadable) continue;
      const payload = payloads[index]!;
      try {
        const id = await send(rest, target, index, payload, files, signal);
        sent.push(group);
        messageIds.push(id);
        if (index === 0) first = { id, shown: shownHash(payload) };
      } catch (error) {
        const failure = restFailure(error);
        if (failure.aborted) throw new Cancelled();
        if (isTooLarge(failure) && group.length > 0) {
          tooLargeAt = tooLargeFrom(group.map((d) => d.bytes), tooLargeAt);
          const sentIds = new Set(sent.flat().map((d) => d.stem.id));
          for (const e of live()) {
            if (e.delivery.kind === 'attach' && !sentIds.has(e.source.id) && !fits(e.delivery.bytes, limitBytes, tooLargeAt)) {
              e.delivery = afterTooLarge(e.delivery.encoding, e.file);
              await prepare(e);
            }
          }
          continue;
        }
        sendFailures.push(sendFailure(index, failure));
        if (index === 0) {
          // Nothing reached the user: no list, no links.
          for (const e of live()) failed.set(e.source.id, `the stems message could not be sent (${failure.text})`);
          break;
        }
        for (const d of group) failed.set(d.stem.id, `the upload failed (${failure.text})`);
      }
    }
  } catch (error) {
    if (!(error instanceof Cancelled)) throw error;
    for (const e of live()) {
      const delivered = sent.some((g) => g.some((d) => d.stem.id === e.source.id));
      if (!delivered && !(first && e.delivery.kind === 'link')) failed.set(e.source.id, 'cancelled');
    }
  }

  // 4. The first message lists every stem: make it say what finally happened.
  if (first) {
    const { payloads } = render();
    const final = payloads[0]!;
    if (shownHash(final) !== first.shown) {
      const edit = { content: final.content ?? '', embeds: final.embeds ?? [], allowed_mentions: final.allowed_mentions };
      try {
        await editFirst(rest, target, first.id, edit, signal);
      } catch (error) {
        sendFailures.push(sendFailure(0, restFailure(error), 'correcting the list'));
      }
    }
  }

  const outcomes = options.stems.map((source): StemOutcome => outcomeOf(source, entries, failed, sent, messageIds, links, first !== undefined));
  const ok = outcomes.filter((o) => o.status !== 'failed').length;
  const state = ok === outcomes.length ? 'delivered' : ok === 0 ? 'failed' : 'partial';
  return { state, outcomes, messageIds, failures: sendFailures };
}

function sendFailure(index: number, failure: RestFailure, what?: string): SendFailure {
  return { message: index + 1, status: failure.status, code: failure.code, text: what ? `${what}: ${failure.text}` : failure.text };
}

function outcomeOf(
  source: StemSource,
  entries: readonly Entry[],
  failed: ReadonlyMap<string, string>,
  sent: readonly AttachDelivery[][],
  messageIds: readonly string[],
  links: Readonly<Record<string, FileLink>>,
  listed: boolean,
): StemOutcome {
  const base = { stemId: source.id, name: source.name };
  const reason = failed.get(source.id);
  if (reason !== undefined) return { ...base, status: 'failed', reason };
  const entry = entries.find((e) => e.source.id === source.id);
  const delivery = entry?.delivery;
  if (!delivery) return { ...base, status: 'failed', reason: 'not delivered' };
  const link = links[source.id];
  if (delivery.kind === 'link') {
    if (!link) return { ...base, status: 'failed', reason: NO_FILE_SERVER_REASON };
    if (!listed) return { ...base, status: 'failed', reason: 'the stems message could not be sent' };
    return { ...base, status: 'linked', reason: delivery.reason, url: link.url, expiresAt: link.expiresAt };
  }
  const group = sent.findIndex((g) => g.some((d) => d.stem.id === source.id));
  if (group < 0) return { ...base, status: 'failed', reason: 'not sent' };
  return {
    ...base,
    status: 'attached',
    encoding: delivery.encoding,
    fileName: delivery.fileName,
    bytes: delivery.bytes,
    messageId: messageIds[group]!,
    ...(delivery.originalAsLink && link ? { fullQualityUrl: link.url } : {}),
  };
}

async function send(rest: REST, target: StemsTarget, index: number, body: MessagePayload, files: RawFile[], signal: AbortSignal | undefined): Promise<string> {
  const request = { body, ...(files.length ? { files } : {}), ...(signal ? { signal } : {}) };
  let message: APIMessage;
  if (target.via === 'interaction') {
    if (index === 0 && target.first === 'edit_original') {
      message = (await rest.patch(Routes.webhookMessage(target.applicationId, target.token, '@original'), { ...request, auth: false })) as APIMessage;
    } else {
      const query = makeURLSearchParams({ wait: true });
      message = (await rest.post(Routes.webhook(target.applicationId, target.token), { ...request, query, auth: false })) as APIMessage;
    }
  } else {
    message = (await rest.post(Routes.channelMessages(target.channelId), request)) as APIMessage;
  }
  return message.id;
}

/** Edits the first message's text; without an `attachments` list Discord keeps its files. */
async function editFirst(rest: REST, target: StemsTarget, messageId: string, body: Omit<MessagePayload, 'attachments'>, signal: AbortSignal | undefined): Promise<void> {
  const request = { body, ...(signal ? { signal } : {}) };
  if (target.via === 'interaction') {
    await rest.patch(Routes.webhookMessage(target.applicationId, target.token, messageId), { ...request, auth: false });
  } else {
    await rest.patch(Routes.channelMessage(target.channelId, messageId), request);
  }
}
