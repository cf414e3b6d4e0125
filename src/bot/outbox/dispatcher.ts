/**
 * Sends what the outbox (`deliveries`) holds: stems and analysis DMs. A row is
 * claimed with FOR UPDATE SKIP LOCKED and marked `sending` in the same
 * statement, so two bot processes never send the same row; a failure goes
 * back to `pending` with a backoff (`next_attempt_at`, `last_error`) until
 * MAX_ATTEMPTS, then `failed`. A row left `sending` by a process that died
 * is taken up again after STALE_SENDING_MS.
 */
import type { Orm } from '../../db/orm.ts';
import { probeAndDeliverStems, type StemsContext } from './stemsDelivery.ts';
import { deliverDm } from './dmDelivery.ts';
import type { BotDeps } from '../deps.ts';

export const MAX_ATTEMPTS = 5;
export const STALE_SENDING_MS = 10 * 60_000;

interface Claimed {
  id: string;
  request_id: string;
  kind: 'stems' | 'dm';
  payload: Record<string, string>;
  attempts: number;
}

async function claim(orm: Orm): Promise<Claimed | undefined> {
  const rows = await orm.em.getConnection().execute<Claimed[]>(
    `update deliveries set state = 'sending', attempts = attempts + 1, updated_at = now()
      where id = (select id from deliveries
                   where kind in ('stems', 'dm')
                     and ((state = 'pending' and next_attempt_at <= now())
                       or (state = 'sending' and updated_at < now() - make_interval(secs => ?)))
                   order by next_attempt_at for update skip locked limit 1)
      returning id, request_id, kind, payload, attempts`,
    [STALE_SENDING_MS / 1000],
  );
  return rows[0];
}

export type Outcome = { ok: true } | { ok: false; error: string; retry: boolean };

export class Dispatcher {
  private readonly deps: () => BotDeps;
  private readonly stems: StemsContext;
  private readonly afterDelivery: (requestId: string) => void;
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;

  constructor(deps: () => BotDeps, stems: StemsContext, afterDelivery: (requestId: string) => void, intervalMs = 1000) {
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
      const row = await claim(orm);
      if (!row) return;
      let outcome: Outcome;
      try {
        outcome = row.kind === 'stems' ? await probeAndDeliverStems(this.deps(), this.stems, row.request_id, row.payload) : await deliverDm(this.deps(), row.request_id, row.payload);
      } catch (error) {
        outcome = { ok: false, error: (error as Error).message, retry: true };
      }
      const conn = orm.em.getConnection();
      if (outcome.ok) {
        await conn.execute(`update deliveries set state = 'sent', sent_at = now(), last_error = null, updated_at = now() where id = ?`, [row.id]);
      } else if (outcome.retry && row.attempts < MAX_ATTEMPTS) {
        log.warn(`delivery ${row.kind} of request ${row.request_id} failed (attempt ${row.attempts}), will retry: ${outcome.error}`);
        await conn.execute(
          `update deliveries set state = 'pending', last_error = ?, next_attempt_at = now() + make_interval(secs => ?), updated_at = now() where id = ?`,
          [outcome.error.slice(0, 1000), 2 ** row.attempts, row.id],
        );
      } else {
        log.error(`delivery ${row.kind} of request ${row.request_id} failed: ${outcome.error}`);
        await conn.execute(`update deliveries set state = 'failed', last_error = ?, updated_at = now() where id = ?`, [outcome.error.slice(0, 1000), row.id]);
        if (row.kind === 'stems') {
          await conn.execute(`update requests set delivery_state = 'failed', delivery_error = ?, updated_at = now() where id = ? and delivery_state in ('pending', 'delivering')`, [
            `the stems could not be sent: ${outcome.error.slice(0, 300)}`,
            row.request_id,
          ]);
        }
      }
      this.afterDelivery(row.request_id);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
