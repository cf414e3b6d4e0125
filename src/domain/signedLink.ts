/**
 * Expiring download links for files the bot serves (stems too large to
 * attach): `<PUBLIC_BASE_URL>/files/<stem id>?exp=<unix seconds>&sig=<hex>`,
 * where sig = HMAC-SHA256(secret, "sfa-file-v1\n<stem id>\n<exp>"). The link
 * is valid while now < exp. Deterministic (no clock, no randomness inside):
 * the caller passes the time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Domain separation: a signature for something else made with the same secret never verifies here. */
const CONTEXT = 'sfa-file-v1';
export const MIN_SECRET_LENGTH = 16;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SIG = /^[0-9a-f]{64}$/;
// Unix seconds, no sign, no leading zeros (one spelling per instant), below 10^12 (year ~33658).
const EXP = /^(0|[1-9][0-9]{0,11})$/;

export type LinkParts = { stemId: string; exp: string | number; sig: string };
export type VerifyResult =
  | { ok: true; stemId: string; expiresAt: number }
  | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' };

function checkSecret(secret: string): void {
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) {
    throw new RangeError(`the link signing secret must be at least ${MIN_SECRET_LENGTH} characters`);
  }
}

function mac(secret: string, stemId: string, exp: number): Buffer {
  return createHmac('sha256', secret).update(`${CONTEXT}\n${stemId}\n${exp}`).digest();
}

/** The hex signature of (stemId, expiresAt). expiresAt is unix seconds. */
export function sign(secret: string, stemId: string, expiresAt: number): string {
  checkSecret(secret);
  if (!UUID.test(stemId)) throw new RangeError(`stem id must be a lower-case uuid, got "${String(stemId).slice(0, 40)}"`);
  if (!Number.isSafeInteger(expiresAt) || !EXP.test(String(expiresAt))) {
    throw new RangeError(`expiresAt must be whole unix seconds, got ${expiresAt}`);
  }
  return mac(secret, stemId, expiresAt).toString('hex');
}

/** `<base>/files/<stemId>?exp=..&sig=..`; the base may carry a path prefix and a trailing slash. */
export function signedUrl(baseUrl: string, secret: string, stemId: string, expiresAt: number): string {
  const sig = sign(secret, stemId, expiresAt);
  let base: URL;
  try {
    base = new URL(baseUrl);
  } catch {
    throw new RangeError(`PUBLIC_BASE_URL is not a URL: "${baseUrl.slice(0, 80)}"`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new RangeError('PUBLIC_BASE_URL must be http(s)');
  const prefix = base.pathname.replace(/\/+$/, '');
  return `${base.origin}${prefix}/files/${stemId}?exp=${expiresAt}&sig=${sig}`;
}

/** Unix seconds for a link valid `ttlSeconds` from `nowMs`. */
export function expiryFrom(nowMs: number, ttlSeconds: number): number {
  if (!Number.isFinite(nowMs) || !Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0) {
    throw new RangeError(`bad link lifetime: now=${nowMs}, ttl=${ttlSeconds}`);
  }
  return Math.floor(nowMs / 1000) + ttlSeconds;
}

/** The parts of a served URL (its path must end in /files/<id>); undefined if it is not one. */
function partsFromUrl(url: string): LinkParts | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url, 'http://relative.invalid');
  } catch {
    return undefined;
  }
  const m = /\/files\/([^/]+)$/.exec(parsed.pathname);
  const exps = parsed.searchParams.getAll('exp');
  const sigs = parsed.searchParams.getAll('sig');
  // A repeated parameter is ambiguous (which one did the server read?): refuse it.
  if (!m || exps.length !== 1 || sigs.length !== 1) return undefined;
  return { stemId: m[1]!, exp: exps[0]!, sig: sigs[0]! };
}

/**
 * Checks a link against the secret at `nowMs`. The signature is checked
 * before the expiry, so a forged link never learns whether its time is valid.
 */
export function verify(secret: string, link: string | LinkParts, nowMs: number): VerifyResult {
  checkSecret(secret);
  const parts = typeof link === 'string' ? partsFromUrl(link) : link;
  if (!parts) return { ok: false, reason: 'malformed' };
  const exp = String(parts.exp);
  if (typeof parts.stemId !== 'string' || !UUID.test(parts.stemId) || !EXP.test(exp) || typeof parts.sig !== 'string' || !SIG.test(parts.sig)) {
    return { ok: false, reason: 'malformed' };
  }
  const expiresAt = Number(exp);
  const expected = mac(secret, parts.stemId, expiresAt);
  if (!timingSafeEqual(expected, Buffer.from(parts.sig, 'hex'))) return { ok: false, reason: 'bad_signature' };
  if (nowMs >= expiresAt * 1000) return { ok: false, reason: 'expired' };
  return { ok: true, stemId: parts.stemId, expiresAt };
}
