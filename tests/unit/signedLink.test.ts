import { describe, expect, it } from 'vitest';
import { MIN_SECRET_LENGTH, expiryFrom, sign, signedUrl, verify } from '../../src/domain/signedLink.ts';

const SECRET = 'correct horse battery staple';
const STEM = '3f1c2a9e-7b4d-4c1e-9a2b-5d6e7f8a9b0c';
const EXP = 1767225600; // 2026-01-01T00:00:00Z
// Computed with: printf 'sfa-file-v1\n<stem>\n<exp>' | openssl dgst -sha256 -hmac '<secret>'
const KNOWN_SIG = '8ee5b8706cb14312693bf45ac3a1a78325494089c66a7a22aaadf489302a113e';
const BEFORE = (EXP - 1) * 1000;

const flipLastHex = (sig: string) => sig.slice(0, -1) + (sig.endsWith('0') ? '1' : '0');

describe('sign', () => {
  it('is HMAC-SHA256 over "sfa-file-v1\\n<stem>\\n<exp>" in lower-case hex', () => {
    expect(sign(SECRET, STEM, EXP)).toBe(KNOWN_SIG);
  });

  it('depends on the secret, the stem and the expiry', () => {
    expect(sign(`${SECRET}!`, STEM, EXP)).not.toBe(KNOWN_SIG);
    expect(sign(SECRET, STEM.replace('3f', '4f'), EXP)).not.toBe(KNOWN_SIG);
    expect(sign(SECRET, STEM, EXP + 1)).not.toBe(KNOWN_SIG);
  });

  it.each([
    ['a short secret', 'x'.repeat(MIN_SECRET_LENGTH - 1), STEM, EXP, /at least 16 characters/],
    ['a stem id that is not a uuid', SECRET, '../../etc/passwd', EXP, /stem id must be a lower-case uuid/],
    ['an upper-case stem id', SECRET, STEM.toUpperCase(), EXP, /stem id/],
    ['fractional seconds', SECRET, STEM, EXP + 0.5, /whole unix seconds/],
    ['negative seconds', SECRET, STEM, -1, /whole unix seconds/],
    ['NaN', SECRET, STEM, Number.NaN, /whole unix seconds/],
  ])('refuses %s', (_label, secret, stem, exp, message) => {
    expect(() => sign(secret, stem, exp)).toThrow(message);
  });

  it('accepts a secret of exactly the minimum length', () => {
    expect(sign('s'.repeat(MIN_SECRET_LENGTH), STEM, EXP)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('signedUrl', () => {
  it.each([
    ['https://bot.example.com', 'https://bot.example.com/files/'],
    ['https://bot.example.com/', 'https://bot.example.com/files/'],
    ['https://bot.example.com/sfa/', 'https://bot.example.com/sfa/files/'],
    ['http://127.0.0.1:8080//', 'http://127.0.0.1:8080/files/'],
  ])('joins %s', (base, prefix) => {
    expect(signedUrl(base, SECRET, STEM, EXP)).toBe(`${prefix}${STEM}?exp=${EXP}&sig=${KNOWN_SIG}`);
  });

  it.each([
    ['not a url', /not a URL/],
    ['ftp://files.example.com', /must be http\(s\)/],
  ])('refuses base %s', (base, message) => {
    expect(() => signedUrl(base, SECRET, STEM, EXP)).toThrow(message);
  });
});

describe('expiryFrom', () => {
  it('adds whole seconds to the current second', () => {
    expect(expiryFrom(EXP * 1000 + 999, 3600)).toBe(EXP + 3600);
  });

  it.each([0, -5, 1.5])('refuses a lifetime of %s', (ttl) => {
    expect(() => expiryFrom(Date.UTC(2026, 0, 1), ttl)).toThrow(/bad link lifetime/);
  });

  it('refuses a non-finite clock', () => {
    expect(() => expiryFrom(Number.NaN, 60)).toThrow(/bad link lifetime/);
  });
});

describe('verify', () => {
  const url = signedUrl('https://bot.example.com/sfa', SECRET, STEM, EXP);

  it('accepts its own link one second before expiry, as a URL and as parts', () => {
    expect(verify(SECRET, url, BEFORE)).toEqual({ ok: true, stemId: STEM, expiresAt: EXP });
    expect(verify(SECRET, { stemId: STEM, exp: String(EXP), sig: KNOWN_SIG }, BEFORE)).toEqual({
      ok: true,
      stemId: STEM,
      expiresAt: EXP,
    });
    expect(verify(SECRET, { stemId: STEM, exp: EXP, sig: KNOWN_SIG }, BEFORE)).toMatchObject({ ok: true });
  });

  it('accepts a path-only URL (what an HTTP server sees)', () => {
    expect(verify(SECRET, `/files/${STEM}?exp=${EXP}&sig=${KNOWN_SIG}`, BEFORE)).toMatchObject({ ok: true });
  });

  it('is valid up to the last millisecond and expired exactly at exp', () => {
    expect(verify(SECRET, url, EXP * 1000 - 1)).toMatchObject({ ok: true });
    expect(verify(SECRET, url, EXP * 1000)).toEqual({ ok: false, reason: 'expired' });
    expect(verify(SECRET, url, EXP * 1000 + 86_400_000)).toEqual({ ok: false, reason: 'expired' });
  });

  it('reports a bad signature for another secret, a changed stem, a changed expiry, a flipped digit', () => {
    const other = '4f1c2a9e-7b4d-4c1e-9a2b-5d6e7f8a9b0c';
    expect(verify(`${SECRET}?`, url, BEFORE)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verify(SECRET, url.replace(STEM, other), BEFORE)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verify(SECRET, url.replace(`exp=${EXP}`, `exp=${EXP + 3600}`), BEFORE)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verify(SECRET, { stemId: STEM, exp: EXP, sig: flipLastHex(KNOWN_SIG) }, BEFORE)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('checks the signature before the expiry (a forged, expired link says bad signature)', () => {
    expect(verify(SECRET, { stemId: STEM, exp: EXP, sig: flipLastHex(KNOWN_SIG) }, EXP * 1000 + 1)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it.each([
    ['no exp', `https://h/files/${STEM}?sig=${KNOWN_SIG}`],
    ['no sig', `https://h/files/${STEM}?exp=${EXP}`],
    ['two exps', `https://h/files/${STEM}?exp=${EXP}&exp=${EXP}&sig=${KNOWN_SIG}`],
    ['two sigs', `https://h/files/${STEM}?exp=${EXP}&sig=${KNOWN_SIG}&sig=${KNOWN_SIG}`],
    ['no /files/ path', `https://h/stems/${STEM}?exp=${EXP}&sig=${KNOWN_SIG}`],
    ['a trailing path segment', `https://h/files/${STEM}/x?exp=${EXP}&sig=${KNOWN_SIG}`],
    ['a stem that is not a uuid', `https://h/files/abc?exp=${EXP}&sig=${KNOWN_SIG}`],
    ['an exp with a sign', `https://h/files/${STEM}?exp=%2B${EXP}&sig=${KNOWN_SIG}`],
    ['an exp with a leading zero', `https://h/files/${STEM}?exp=0${EXP}&sig=${KNOWN_SIG}`],
    ['a fractional exp', `https://h/files/${STEM}?exp=${EXP}.5&sig=${KNOWN_SIG}`],
    ['a short sig', `https://h/files/${STEM}?exp=${EXP}&sig=${KNOWN_SIG.slice(2)}`],
    ['an upper-case sig', `https://h/files/${STEM}?exp=${EXP}&sig=${KNOWN_SIG.toUpperCase()}`],
    ['a non-hex sig', `https://h/files/${STEM}?exp=${EXP}&sig=${'z'.repeat(64)}`],
    ['an unparseable URL', 'http://[::1'],
  ])('reports malformed for %s', (_label, link) => {
    expect(verify(SECRET, link, BEFORE)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('reports malformed parts', () => {
    expect(verify(SECRET, { stemId: STEM, exp: -1, sig: KNOWN_SIG }, BEFORE)).toEqual({ ok: false, reason: 'malformed' });
    expect(verify(SECRET, { stemId: STEM, exp: 'soon', sig: KNOWN_SIG }, BEFORE)).toEqual({ ok: false, reason: 'malformed' });
    expect(verify(SECRET, { stemId: 7 as never, exp: EXP, sig: KNOWN_SIG }, BEFORE)).toEqual({ ok: false, reason: 'malformed' });
    expect(verify(SECRET, { stemId: STEM, exp: EXP, sig: null as never }, BEFORE)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses to verify with a short secret', () => {
    expect(() => verify('short', url, BEFORE)).toThrow(/at least 16 characters/);
  });
});
