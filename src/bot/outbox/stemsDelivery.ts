/**
 * One `stems` outbox row: the processing row's Stem rows, delivered with
 * deliverStems (src/bot/delivery/stems.ts). While the interaction token is
 * good they go as followups of the interaction; after it (or when Discord
 * refuses the token) as channel messages with the bot token. The outcome is
 * stored on the request (delivery_state, delivery_error, delivered_at).
 */
import type { LinkSettings, StemsTarget } from '../delivery/stems.ts';
import { deliverStems } from '../delivery/stems.ts';
import type { StemEncoder } from '../delivery/encode.ts';
import { isTokenRefused } from '../delivery/restErrors.ts';
import type { BotDeps } from '../deps.ts';
import { inCatalogOrder } from '../../domain/modelCatalog.ts';
import { partialDelivery } from '../../domain/requestLifecycle.ts';
import { markDelivered, markDelivering, releaseDelivering } from '../../requests/outbox.ts';
import { setEntryLink } from '../../requests/batches.ts';
import { playerExpiry, playerUrl } from '../../domain/playerLink.ts';
import { stemsDestination } from '../batches/stemsPlace.ts';
import { DEFAULT_PLAYER_DAYS } from '../delivery/stems.ts';
import { loadRequest, trackCard } from '../../requests/view.ts';
import type { Outcome } from './outcome.ts';

export interface StemsContext {
  encoder: StemEncoder;
  /** undefined without PUBLIC_BASE_URL. */
  links: LinkSettings | undefined;
}

/** Margin before the interaction token's expiry after which the bot token is used. */
const TOKEN_MARGIN_MS = 60_000;

export async function probeAndDeliverStems(deps: BotDeps, ctx: StemsContext, requestId: string, payload: Record<string, string>): Promise<Outcome> {
  const row = await loadRequest(deps.orm, requestId);
  if (!row) return { ok: true };
  const processingJobId = payload.processingJobId;
  const stems = await deps.orm.em
    .getConnection()
    .execute<{ id: string; stem_type: string; file_path: string | null }[]>(`select id, stem_type, file_path from stems where processing_job_id = ?`, [processingJobId]);
  const model = (await deps.orm.em.getConnection().execute<{ model: string }[]>(`select model from processing_jobs where id = ?`, [processingJobId]))[0]?.model ?? row.model ?? 'htdemucs';
  // The model catalog's order, as the CLI lists them.
  const sources = inCatalogOrder(model, stems, (s) => s.stem_type)
    .filter((s) => s.file_path)
    .map((s) => ({ id: s.id, name: s.stem_type, filePath: s.file_path!, durationSeconds: row.duration }));
  // A track of an album or playlist: its stems go into the batch's thread, or become a link on its line.
  let channelId = row.channel_id;
  if (row.batch_id) {
    const place = await stemsDestination(deps, row.batch_id, ctx.links !== undefined);
    if (!place.ok) return { ok: false, error: place.retry, retry: true };
    if (place.place === 'links' && ctx.links && processingJobId) {
      const expiresAt = playerExpiry(Date.now(), ctx.links.playerDays ?? DEFAULT_PLAYER_DAYS);
      await setEntryLink(deps.orm, requestId, playerUrl(ctx.links.publicBaseUrl, ctx.links.secret, processingJobId, expiresAt));
      await markDelivered(deps.orm, requestId);
      return { ok: true };
    }
    channelId = place.channelId;
  }
  await markDelivering(deps.orm, requestId);

  const tokenGood = row.interaction_expires_at.getTime() - TOKEN_MARGIN_MS > Date.now();
  const run = (target: StemsTarget) =>
    deliverStems({
      rest: deps.rest,
      target,
      requesterId: row.requester_id,
      track: trackCard(row),
      model,
      stems: sources,
      ...(processingJobId ? { stemSetId: processingJobId } : {}),
      limitBytes: row.attachment_size_limit === null ? null : Number(row.attachment_size_limit),
      ...(row.format ? { requestedFormat: row.format } : {}),
      ...(ctx.links ? { links: ctx.links } : {}),
      encoder: ctx.encoder,
    });
  let result = await run(tokenGood ? { via: 'interaction', applicationId: row.application_id, token: row.interaction_token, first: 'followup' } : { via: 'channel', channelId });
  const tokenRefused = result.state === 'failed' && result.failures.some(isTokenRefused);
  if (tokenGood && tokenRefused) result = await run({ via: 'channel', channelId });

  if (result.state === 'failed') {
    const why = result.failures[0]?.text ?? result.outcomes.find((o) => o.status === 'failed')?.['reason' as never] ?? 'nothing could be sent';
    await releaseDelivering(deps.orm, requestId);
    return { ok: false, error: String(why), retry: true };
  }
  const failed = result.outcomes.filter((o) => o.status === 'failed').map((o) => `${o.name}: ${'reason' in o ? o.reason : 'failed'}`);
  await markDelivered(deps.orm, requestId, partialDelivery(failed));
  deps.log.info(`request ${requestId}: stems ${result.state} (${result.outcomes.map((o) => `${o.name} ${o.status}`).join(', ')})`);
  return { ok: true };
}
