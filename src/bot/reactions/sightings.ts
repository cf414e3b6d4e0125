/**
 * One reaction, two ways in: a reaction made around the time the gateway
 * session started reaches the live listener as an event AND may be listed by
 * the start-up catch-up pass reading the message through REST. The database
 * alone cannot tell them apart in time (the listener looks the request up
 * before it inserts its row), so this process remembers, for a minute, what
 * each side saw:
 *
 * - the pass does not record what the listener got (its row may not be written yet);
 * - the listener does not record what the pass just recorded (its event was still on the way).
 *
 * A minute is far longer than an event or a row takes; older entries are dropped as new ones come.
 */
const MEMORY_MS = 60_000;

export const reactionKey = (messageId: string, userId: string, model: string): string => `${messageId}:${userId}:${model}`;

function note(map: Map<string, number>, key: string, now: number): void {
  for (const [k, at] of map) if (now - at > MEMORY_MS) map.delete(k);
  map.set(key, now);
}

const recent = (map: Map<string, number>, key: string, now: number): boolean => {
  const at = map.get(key);
  return at !== undefined && now - at <= MEMORY_MS;
};

export class ReactionSightings {
  private readonly live = new Map<string, number>();
  private readonly caughtUp = new Map<string, number>();

  /** A live event; returns false when the pass recorded that reaction moments ago (do not record it again). */
  noteLive(key: string, now = Date.now()): boolean {
    note(this.live, key, now);
    return !recent(this.caughtUp, key, now);
  }

  seenLive(key: string, now = Date.now()): boolean {
    return recent(this.live, key, now);
  }

  noteCaughtUp(key: string, now = Date.now()): void {
    note(this.caughtUp, key, now);
  }

  /** The pass could not record it after all: a live event for it must not be dropped. */
  forgetCaughtUp(key: string): void {
    this.caughtUp.delete(key);
  }
}

/** This process's: the listener and the catch-up pass share it. */
export const sightings = new ReactionSightings();
