/**
 * Signed, expiring links to the stem player: one link grants exactly one stem
 * set (a processing job's stems) until it expires.
 *
 *   <PUBLIC_BASE_URL>/player/<processing job id>?exp=<unix seconds>&sig=<hex>
 *
 * sig = HMAC-SHA256(secret, "sfa-player-v1\n<set id>\n<exp>"): a different
 * context from file links (src/domain/signedLink.ts), so neither kind of
 * signature verifies as the other. The page's own requests (peaks, audio,
 * zip, mix) carry the same exp and sig under `/player/<set id>/...`. Pure:
 * the caller passes the time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { MIN_SECRET_LENGTH } from './signedLink.ts';

const CONTEXT = 'sfa-player-v1';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SIG = /^[0-9a-f]{64}$/;
const EXP = /^(0|[1-9][0-9]{0,11})$/;

export const DAY_SECONDS = 24 * 3600;

export type PlayerVerdict = { ok: true; setId: string; expiresAt: number } | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' };

function mac(secret: string, setId: string, exp: number): Buffer {
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) {
    throw new RangeError(`the link signing secret must be at least ${MIN_SECRET_LENGTH} characters`);
  }
  return createHmac('sha256', secret).update(`${CONTEXT}\n${setId}\n${exp}`).digest();
}

export function signPlayer(secret: string, setId: string, expiresAt: number): string {
  if (!UUID.test(setId)) throw new RangeError(`stem set id must be a lower-case uuid, got "${String(setId).slice(0, 40)}"`);
  if (!Number.isSafeInteger(expiresAt) || !EXP.test(String(expiresAt))) throw new RangeError(`expiresAt must be whole unix seconds, got ${expiresAt}`);
  return mac(secret, setId, expiresAt).toString('hex');
}

/** The query string every request of one player link carries: `?exp=..&sig=..`. */
export function playerQuery(secret: string, setId: string, expiresAt: number): string {
  return `?exp=${expiresAt}&sig=${signPlayer(secret, setId, expiresAt)}`;
}

/** `<base>/player/<setId>?exp=..&sig=..`; a path prefix of the base is kept. */
export function playerUrl(baseUrl: string, secret: string, setId: string, expiresAt: number): string {
  const base = new URL(baseUrl);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new RangeError('the base URL must be http(s)');
  return `${base.origin}${base.pathname.replace(/\/+$/, '')}/player/${setId}${playerQuery(secret, setId, expiresAt)}`;
}

/** Unix seconds `days` after nowMs. */
export function playerExpiry(nowMs: number, days: number): number {
  if (!Number.isFinite(nowMs) || !Number.isSafeInteger(days) || days <= 0) throw new RangeError(`bad player link lifetime: ${days} days`);
  return Math.floor(nowMs / 1000) + days * DAY_SECONDS;
}

/**
 * Checks the set id of the path and the query's exp/sig at nowMs. The
 * signature is checked before the expiry, so a forged link never learns
 * whether its time is valid. A repeated parameter is refused (ambiguous).
 */
export function verifyPlayer(secret: string, setId: string, query: URLSearchParams, nowMs: number): PlayerVerdict {
  const exps = query.getAll('exp');
  const sigs = query.getAll('sig');
  if (exps.length !== 1 || sigs.length !== 1) return { ok: false, reason: 'malformed' };
  const exp = exps[0]!;
  const sig = sigs[0]!;
  if (!UUID.test(setId) || !EXP.test(exp) || !SIG.test(sig)) return { ok: false, reason: 'malformed' };
  const expiresAt = Number(exp);
  if (!timingSafeEqual(mac(secret, setId, expiresAt), Buffer.from(sig, 'hex'))) return { ok: false, reason: 'bad_signature' };
  if (nowMs >= expiresAt * 1000) return { ok: false, reason: 'expired' };
  return { ok: true, setId, expiresAt };
}
