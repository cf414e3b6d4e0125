/**
 * The stem player's pure decisions: player links (one set, until expiry,
 * never a file link), the mix request allowlist and cache name, the ffmpeg
 * argv of a mix, the per-link rate limit, waveform peaks and stem colours,
 * and which cover URLs the server may fetch and what counts as an image.
 */
import { describe, expect, it } from 'vitest';
import { artSource, imageType } from '../../src/domain/albumArt.ts';
import { playerExpiry, playerUrl, signPlayer, verifyPlayer } from '../../src/domain/playerLink.ts';
import { computePeaks, mixArgs, mixCacheName, parseMixQuery, parseZipFormat, rateDecision } from '../../src/domain/playerMix.ts';
import { sign } from '../../src/domain/signedLink.ts';
import { stemStyle } from '../../src/domain/stemStyle.ts';

const SECRET = 'unit-test-secret-0123456789';
const SET = 'aaaaaaaa-2222-4333-8444-55555555555b';
const OTHER = '11111111-2222-4333-8444-666666666666';
const NOW = 1_800_000_000_000;
const q = (s: string) => new URLSearchParams(s);

describe('player links', () => {
  it('keep the base path and verify for their set until they expire', () => {
    const exp = playerExpiry(NOW, 7);
    expect(exp).toBe(NOW / 1000 + 7 * 86400);
    const url = new URL(playerUrl('https://stems.example.org/sfa/', SECRET, SET, exp));
    expect(url.pathname).toBe(`/sfa/player/${SET}`);
    expect(verifyPlayer(SECRET, SET, url.searchParams, NOW)).toEqual({ ok: true, setId: SET, expiresAt: exp });
    expect(verifyPlayer(SECRET, SET, url.searchParams, exp * 1000)).toEqual({ ok: false, reason: 'expired' });
    expect(verifyPlayer(SECRET, OTHER, url.searchParams, NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyPlayer('another-secret-0123456789', SET, url.searchParams, NOW)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuse malformed, repeated or file-link signatures', () => {
    const exp = playerExpiry(NOW, 1);
    const sig = signPlayer(SECRET, SET, exp);
    expect(verifyPlayer(SECRET, SET, q(`exp=${exp}&sig=${sig}&sig=${sig}`), NOW).ok).toBe(false);
    expect(verifyPlayer(SECRET, SET, q(`exp=0${exp}&sig=${sig}`), NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyPlayer(SECRET, SET.toUpperCase(), q(`exp=${exp}&sig=${sig}`), NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyPlayer(SECRET, SET, q(`exp=${exp}&sig=${sign(SECRET, SET, exp)}`), NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(() => playerExpiry(NOW, 0)).toThrow(RangeError);
  });
});

describe('mix requests', () => {
  const names = ['vocals', 'drums', 'bass'];
  it('take volumes by stem name; unnamed stems stay at 1', () => {
    expect(parseMixQuery(q('format=mp3&v=vocals:0,bass:0.5'), names)).toEqual({
      ok: true,
      value: { format: 'mp3', stems: [{ name: 'vocals', volume: 0 }, { name: 'drums', volume: 1 }, { name: 'bass', volume: 0.5 }] },
    });
    expect(parseMixQuery(q(''), names)).toMatchObject({ ok: true, value: { format: 'wav' } });
  });
  it('refuse unknown stems, formats, bad volumes and an all-muted mix', () => {
    expect(parseMixQuery(q('v=guitar:1'), names)).toEqual({ ok: false, error: 'unknown stem "guitar"' });
    expect(parseMixQuery(q('format=ogg'), names).ok).toBe(false);
    for (const v of ['vocals:-1', 'vocals:2.5', 'vocals:1e3', 'vocals:', 'vocals:0x1']) expect(parseMixQuery(q(`v=${v}`), names).ok, v).toBe(false);
    expect(parseMixQuery(q('v=vocals:0,drums:0,bass:0'), names)).toEqual({ ok: false, error: 'every stem is muted: nothing to mix' });
    expect(parseZipFormat(q('format=flac'))).toEqual({ ok: true, value: 'flac' });
    expect(parseZipFormat(q('format=zip')).ok).toBe(false);
  });
  it('name the same mix alike and a different one differently', () => {
    const a = parseMixQuery(q('format=mp3&v=vocals:0'), names);
    const b = parseMixQuery(q('v=vocals:0,drums:1&format=mp3'), names);
    const c = parseMixQuery(q('format=mp3&v=vocals:0.1'), names);
    if (!a.ok || !b.ok || !c.ok) throw new Error('parse');
    expect(mixCacheName(a.value)).toBe(mixCacheName(b.value));
    expect(mixCacheName(a.value)).not.toBe(mixCacheName(c.value));
    expect(mixCacheName(a.value)).toMatch(/^mix-[0-9a-f]{24}\.mp3$/);
  });
  it('sum only the audible stems, unnormalised', () => {
    const spec = parseMixQuery(q('format=flac&v=drums:0,bass:0.5'), names);
    if (!spec.ok) throw new Error('parse');
    const args = mixArgs(spec.value, ['/s/vocals.wav', '/s/drums.wav', '/s/bass.wav'], '/o/mix.flac');
    expect(args.filter((a, i) => args[i - 1] === '-i')).toEqual(['/s/vocals.wav', '/s/bass.wav']);
    expect(args[args.indexOf('-filter_complex') + 1]).toBe('[0:a]volume=1[a0];[1:a]volume=0.5[a1];[a0][a1]amix=inputs=2:duration=longest:normalize=0[out]');
    expect(args.at(-1)).toBe('/o/mix.flac');
  });
});

describe('rate limit', () => {
  it('allows max requests per window, then says how long to wait', () => {
    let h: number[] = [];
    for (let i = 0; i < 3; i++) {
      const d = rateDecision(h, 1000 + i, 3, 60_000);
      expect(d.allowed).toBe(true);
      h = d.history;
    }
    expect(rateDecision(h, 2000, 3, 60_000)).toEqual({ allowed: false, history: h, retryAfterSeconds: 59 });
    expect(rateDecision(h, 61_000, 3, 60_000).allowed).toBe(true);
  });
});

describe('peaks and colours', () => {
  it('keep the min and max of each bucket', () => {
    const s = new Int16Array([0, 16384, -32768, 0, 32767, 0, 0, -16384]);
    expect(computePeaks(s, 2)).toEqual([-1, 0.5, -0.5, 1]);
  });
  it('give each stem its icon and the same colour', () => {
    expect(stemStyle('vocals')).toEqual({ icon: '🟣', colour: '#aa8ed6' });
    expect(stemStyle('drums').icon).toBe('🟠');
    expect(stemStyle('toString')).toEqual({ icon: '⚪', colour: '#99aab5' });
  });
});

describe('album art', () => {
  it('is fetched only over https from Spotify\'s image hosts', () => {
    for (const ok of ['https://i.scdn.co/image/ab67616d0000b273aa', 'https://mosaic.scdn.co/640/ab67', 'https://image-cdn-ak.spotifycdn.com/image/ab67', 'https://image-cdn-fa.spotifycdn.com/image/ab67']) {
      expect(artSource(ok)?.href, ok).toBe(ok);
    }
    for (const bad of [
      'http://i.scdn.co/image/x',
      'https://i.scdn.co:8443/image/x',
      'https://user:pw@i.scdn.co/image/x',
      'https://i.scdn.co.evil.example/image/x',
      'https://evil.example/i.scdn.co/x',
      'https://scdn.co/image/x',
      'https://127.0.0.1/image/x',
      'file:///etc/passwd',
      'not a url',
      '',
    ]) {
      expect(artSource(bad), bad).toBeUndefined();
    }
    expect(artSource(null)).toBeUndefined();
  });
  it('from a test base only under that base, and only when one is given', () => {
    const base = 'http://127.0.0.1:4000/art/';
    expect(artSource('http://127.0.0.1:4000/art/c.png', base)?.href).toBe('http://127.0.0.1:4000/art/c.png');
    expect(artSource('http://127.0.0.1:4000/art/c.png')).toBeUndefined();
    expect(artSource('http://127.0.0.1:4000/artwork/c.png', base)).toBeUndefined();
    expect(artSource('http://127.0.0.1:4001/art/c.png', base)).toBeUndefined();
    expect(artSource('https://i.scdn.co/image/x', base)).toBeDefined();
  });
  it('is a JPEG, PNG or WebP by its magic bytes, whatever it is called', () => {
    const b = (...parts: (number[] | string)[]) => new Uint8Array(parts.flatMap((p) => (typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : p)));
    expect(imageType(b([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]))).toBe('image/jpeg');
    expect(imageType(b([0x89], 'PNG', [0x0d, 0x0a, 0x1a, 0x0a, 0]))).toBe('image/png');
    expect(imageType(b('RIFF', [0x24, 0, 0, 0], 'WEBPVP8 '))).toBe('image/webp');
    expect(imageType(b('RIFF', [0x24, 0, 0, 0], 'WAVEfmt '))).toBeUndefined();
    expect(imageType(b('GIF89a'))).toBeUndefined();
    expect(imageType(b('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeUndefined();
    expect(imageType(b([0xff, 0xd8]))).toBeUndefined();
    expect(imageType(new Uint8Array())).toBeUndefined();
  });
});
