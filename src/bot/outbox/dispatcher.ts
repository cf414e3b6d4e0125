/**
 * Sends what the outbox (`deliveries`) holds: stems, analysis DMs and an
 * album's or playlist's DM. A row is
 * claimed with FOR UPDATE SKIP LOCKED and marked `sending` in the same
 * statement, so two bot processes never send the same row; a failure goes
 * back to `pending` with a backoff (`next_attempt_at`, `last_error`) until
 * MAX_ATTEMPTS, then `failed`. A row left `sending` by a process that died
 * is taken up again after STALE_SENDING_MS.
 */
import { probeAndDeliverStems, type StemsContext } from './stemsDelivery.ts';
import { deliverDm } from './dmDelivery.ts';
import { deliverBatchDm } from './batchDmDelivery.ts';
import type { Outcome } from './outcome.ts';
import type { BotDeps } from '../deps.ts';
import { stemsNotSent } from '../../domain/requestLifecycle.ts';
import { claimDueDelivery, failRequest, markDeliveryFailed, markDeliverySent, retryDeliveryLater, type ClaimedDelivery } from '../../requests/outbox.ts';
import { settleBatchDm } from '../../requests/batches.ts';

/** Whose message a delivery changes: a request's, or an album's or playlist's. */
export type DeliveredFor = { request: string } | { batch: string };

export const MAX_ATTEMPTS = 5;
export const STALE_SENDING_MS = 10 * 60_000;

export type { Outcome } from './outcome.ts';

export class Dispatcher {
  private readonly deps: () => BotDeps;
  private readonly stems: StemsContext;
  private readonly afterDelivery: (owner: DeliveredFor) => void;
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;

  constructor(deps: () => BotDeps, stems: StemsContext, afterDelivery: (owner: DeliveredFor) => void, intervalMs = 1000) {
    this.deps = deps;
    this.stems = stems;
    this.afterDelivery = afterDelivery;
    this.intervalMs = intervalMs;
  }

  start(): void {
    const loop = () => {
      if (this.closed) return;
      this.poke();
      this.timer = setTimeout(loop, this.intervalMs);
    };
    loop();
  }

  /** Look for due rows now (after an enqueue). */
  poke(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((error: unknown) => this.deps().log.error(`delivery dispatcher: ${(error as Error).message}`))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.poke();
        }
      });
  }

  private async drain(): Promise<void> {
    const { orm, log } = this.deps();
    for (;;) {
      if (this.closed) return;
      const row = await claimDueDelivery(orm, STALE_SENDING_MS / 1000);
      if (!row) return;
      const owner: DeliveredFor = row.batch_id ? { batch: row.batch_id } : { request: row.request_id! };
      const what = 'batch' in owner ? `batch ${owner.batch}` : `request ${owner.request}`;
      let outcome: Outcome;
      try {
        outcome = await this.send(row);
      } catch (error) {
        outcome = { ok: false, error: (error as Error).message, retry: true };
      }
      if (outcome.ok) {
        await markDeliverySent(orm, row.id);
      } else if (outcome.retry && row.attempts < MAX_ATTEMPTS) {
        log.warn(`delivery ${row.kind} of ${what} failed (attempt ${row.attempts}), will retry: ${outcome.error}`);
        await retryDeliveryLater(orm, row.id, outcome.error, 2 ** row.attempts);
      } else {
        log.error(`delivery ${row.kind} of ${what} failed: ${outcome.error}`);
        await markDeliveryFailed(orm, row.id, outcome.error);
        if (row.kind === 'stems') await failRequest(orm, row.request_id!, stemsNotSent(outcome.error));
        if (row.kind === 'batch_dm') await settleBatchDm(orm, row.batch_id!, 'failed');
      }
      this.afterDelivery(owner);
    }
  }

  private send(row: ClaimedDelivery): Promise<Outcome> {
    switch (row.kind) {
      case 'stems':
        return probeAndDeliverStems(this.deps(), this.stems, row.request_id!, row.payload);
      case 'dm':
        return deliverDm(this.deps(), row.request_id!, row.payload);
      case 'batch_dm':
        return deliverBatchDm(this.deps(), row.batch_id!);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
