/** What sending one outbox row came to: sent, or failed (retried with a backoff while `retry`). */
export type Outcome = { ok: true } | { ok: false; error: string; retry: boolean };
