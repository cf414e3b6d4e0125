/**
 * Rate limits as Discord reports them: per-route buckets (split by the major
 * parameter) with `X-RateLimit-*` headers on every response, a global limit
 * for bot-token requests, and injectable 429 storms. A request that arrives
 * while its bucket is empty is answered 429 and recorded as a violation: a
 * client that reads the headers (and is the token's only user) never causes one.
 */
import { createHash } from 'node:crypto';
import type { RESTRateLimit } from 'discord-api-types/v10';
import type { Reply, Route } from './http.ts';

export interface BucketLimit {
  limit: number;
  windowMs: number;
}

export interface RateLimitOptions {
  /** Per `METHOD /template`, e.g. `POST /channels/:channel_id/messages`. */
  routes?: Record<string, BucketLimit>;
  default?: BucketLimit;
  /** Bot-token requests per window across all routes (interaction endpoints are exempt, as on Discord). */
  global?: BucketLimit;
}

export interface InjectedRateLimit {
  /** Which requests: method and a path (without `/api/v10`) or pattern; omitted = any. */
  method?: string;
  path?: string | RegExp;
  /** How many matching requests get a 429 before they go through again. */
  count?: number;
  retryAfterSeconds: number;
  global?: boolean;
}

/** Roughly Discord's buckets as observed (its headers announce them); interaction webhooks allow 5 per 2 s. */
export const DEFAULT_ROUTE_LIMITS: Record<string, BucketLimit> = {
  'POST /channels/:channel_id/messages': { limit: 5, windowMs: 5000 },
  'PATCH /channels/:channel_id/messages/:message_id': { limit: 5, windowMs: 5000 },
  'PUT /channels/:channel_id/messages/:message_id/reactions/:emoji/@me': { limit: 1, windowMs: 250 },
  'PATCH /webhooks/:application_id/:token/messages/:message_id': { limit: 5, windowMs: 2000 },
  'POST /webhooks/:application_id/:token': { limit: 5, windowMs: 2000 },
};

interface Window {
  start: number;
  count: number;
}

export type RateLimitOutcome = { headers: Record<string, string>; limited?: Reply; violation?: string };

const seconds = (ms: number) => (Math.max(0, ms) / 1000).toFixed(3);

export class RateLimiter {
  private readonly windows = new Map<string, Window>();
  private globalWindow: Window = { start: 0, count: 0 };
  private injected: (InjectedRateLimit & { remaining: number })[] = [];
  private readonly routes: Record<string, BucketLimit>;
  private readonly fallback: BucketLimit;
  private readonly global: BucketLimit;

  constructor(options: RateLimitOptions = {}) {
    this.routes = { ...DEFAULT_ROUTE_LIMITS, ...options.routes };
    this.fallback = options.default ?? { limit: 50, windowMs: 1000 };
    this.global = options.global ?? { limit: 50, windowMs: 1000 };
  }

  inject(limit: InjectedRateLimit): void {
    this.injected.push({ ...limit, remaining: limit.count ?? 1 });
  }

  /** Counts the request against its buckets; returns the headers to send and, if limited, the 429 to answer with. */
  check(route: Route, method: string, path: string, params: Record<string, string>, now: number): RateLimitOutcome {
    const name = `${method} ${route.template}`;
    const bucket = createHash('sha1').update(name).digest('hex').slice(0, 16);
    const exemptFromGlobal = !route.auth;
    const injected = this.injected.find(
      (i) => i.remaining > 0 && (!i.method || i.method === method) && (!i.path || (typeof i.path === 'string' ? i.path === path : i.path.test(path))),
    );
    if (injected) {
      injected.remaining -= 1;
      return this.tooMany(bucket, injected.retryAfterSeconds * 1000, injected.global ?? false);
    }

    if (!exemptFromGlobal) {
      if (now >= this.globalWindow.start + this.global.windowMs) this.globalWindow = { start: now, count: 0 };
      if (this.globalWindow.count >= this.global.limit) {
        const wait = this.globalWindow.start + this.global.windowMs - now;
        return { ...this.tooMany(bucket, wait, true), violation: `global rate limit exceeded by ${name}` };
      }
      this.globalWindow.count += 1;
    }

    const limit = this.routes[name] ?? this.fallback;
    const key = `${name} ${route.major ? (params[route.major] ?? '') : ''}${route.major === 'application_id' ? `/${params.token ?? ''}` : ''}`;
    let window = this.windows.get(key);
    if (!window || now >= window.start + limit.windowMs) {
      window = { start: now, count: 0 };
      this.windows.set(key, window);
    }
    const resetAfter = window.start + limit.windowMs - now;
    if (window.count >= limit.limit) {
      return { ...this.tooMany(bucket, resetAfter, false, limit.limit), violation: `${name} sent while its bucket was empty (X-RateLimit-Remaining: 0)` };
    }
    window.count += 1;
    return {
      headers: {
        'x-ratelimit-limit': String(limit.limit),
        'x-ratelimit-remaining': String(limit.limit - window.count),
        'x-ratelimit-reset': seconds(window.start + limit.windowMs),
        'x-ratelimit-reset-after': seconds(resetAfter),
        'x-ratelimit-bucket': bucket,
      },
    };
  }

  private tooMany(bucket: string, waitMs: number, global: boolean, limit = 1): RateLimitOutcome {
    const retryAfter = seconds(waitMs);
    const body: RESTRateLimit = { message: 'You are being rate limited.', retry_after: Number(retryAfter), global };
    const headers: Record<string, string> = global
      ? { 'retry-after': retryAfter, 'x-ratelimit-global': 'true', 'x-ratelimit-scope': 'global' }
      : {
          'retry-after': retryAfter,
          'x-ratelimit-limit': String(limit),
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': seconds(Date.now() + waitMs),
          'x-ratelimit-reset-after': retryAfter,
          'x-ratelimit-bucket': bucket,
          'x-ratelimit-scope': 'user',
        };
    return { headers, limited: { status: 429, body, headers } };
  }
}
