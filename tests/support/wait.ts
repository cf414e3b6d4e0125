/**
 * Polling an async probe (a database query, a process table, a log) until it
 * answers. The fake Discord's waitUntil re-checks only the fake's own state;
 * this is for everything else.
 */

/**
 * Resolves with the first truthy value of `probe`, asked every `intervalMs`; rejects after
 * `timeoutMs`, or at once if the probe throws (a probe can fail fast on a state that cannot change).
 */
export async function until<T>(what: string, probe: () => Promise<T | undefined | false | null>, timeoutMs = 60_000, intervalMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
