/**
 * The stem player in a real Chromium (puppeteer-core), opened from the link
 * in a stems message the bot posted to the fake Discord. The stems are sines
 * of known frequencies, so what the page plays is measured on its output
 * (the AnalyserNode in front of the speakers, exposed as sfaPlayer.engine):
 * lanes draw, play starts every stem, solo and mute change what is heard, the
 * stems stay sample-locked after seeks and a tempo change (two stems that are
 * each other's negative cancel to silence only while in sync), the A-B loop
 * repeats, 75 % tempo plays 4/3 as long at the same pitch; the cover comes
 * from our server (fetched there from a fake art server), never from outside. Screenshots at
 * phone and desktop sizes, dark and light, go to the run's output folder.
 */
import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { REST } from '@discordjs/rest';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StemEncoder } from '../../src/bot/delivery/encode.ts';
import { deliverStems } from '../../src/bot/delivery/stems.ts';
import { stemLookup } from '../../src/bot/files/lookup.ts';
import { playerRoutes } from '../../src/bot/files/player/routes.ts';
import { stemSetLookup } from '../../src/bot/files/player/stemSet.ts';
import { startFileServer, type FileServer } from '../../src/bot/files/server.ts';
import type { Orm } from '../../src/db/orm.ts';
import { NO_PLAYER_LINK } from '../../src/domain/messages.ts';
import { playerUrl } from '../../src/domain/playerLink.ts';
import { StoragePaths } from '../../src/jobs/storage/paths.ts';
import { tempDir } from '../engine/helpers.ts';
import { launchChromium, testOutputDir } from '../support/browser.ts';
import { openTestOrm } from '../support/db.ts';
import { FakeDiscord } from '../support/fakeDiscord/index.ts';
import { restFor } from '../discord/deliveryHelpers.ts';
import { makeToneSet, type ToneSet } from './helpers.ts';

const SECRET = 'player-browser-secret-0123456789';
const TONES = { vocals: 440, drums: 1320, bass: 165 } as const;
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Levels (dB) at the given frequencies in the page's output right now, and the loudest frequency. */
async function spectrum(page: Page, frequencies: readonly number[]): Promise<{ levels: number[]; peakHz: number; rms: number; ctxTime: number }> {
  return page.evaluate((freqs) => {
    const { engine, ctx } = (window as unknown as { sfaPlayer: { engine: { analyser: AnalyserNode }; ctx: AudioContext } }).sfaPlayer;
    const a = engine.analyser;
    const bins = new Float32Array(a.frequencyBinCount);
    a.getFloatFrequencyData(bins);
    const hz = ctx.sampleRate / a.fftSize;
    const level = (f: number) => {
      const i = Math.round(f / hz);
      return Math.max(bins[i - 1] ?? -200, bins[i] ?? -200, bins[i + 1] ?? -200);
    };
    let best = 1;
    for (let i = 1; i < bins.length; i++) if (bins[i]! > bins[best]!) best = i;
    const samples = new Float32Array(a.fftSize);
    a.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const v of samples) sum += v * v;
    return { levels: freqs.map(level), peakHz: best * hz, rms: Math.sqrt(sum / samples.length), ctxTime: ctx.currentTime };
  }, frequencies);
}

type Snapshot = { ctxTime: number; playing: boolean; position: number; tempo: number; started: string[]; sources: { stem: string; rate: number }[]; loop: { a: number; b: number } | null; decodedSegments: number };
const snapshot = (page: Page) => page.evaluate(() => (window as unknown as { sfaPlayer: { engine: { snapshot(): unknown } } }).sfaPlayer.engine.snapshot()) as Promise<Snapshot>;
const engineCall = (page: Page, method: string, ...args: unknown[]) =>
  page.evaluate((m, a) => (window as unknown as { sfaPlayer: { engine: Record<string, (...x: unknown[]) => unknown> } }).sfaPlayer.engine[m]!(...a), method, args);

async function waitFor<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: T = await probe();
  while (!ok(last)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await wait(50);
    last = await probe();
  }
  return last;
}

describe('stem player in Chromium', () => {
  let orm: Orm;
  let dataDir: string;
  let server: FileServer;
  let fake: FakeDiscord;
  let rest: REST;
  let browser: Browser;
  let page: Page;
  let tones: ToneSet;
  let pair: ToneSet;
  let chirp: ToneSet;
  let demo: ToneSet;
  let pageLink: string;
  const requested: string[] = [];
  const consoleErrors: string[] = [];
  let artServer: Server;
  let artBase: string;
  const log = { info: () => undefined, warn: () => undefined, error: (m: string) => console.error(m) };
  const link = (set: ToneSet) => playerUrl(server.url, SECRET, set.setId, Math.floor(Date.now() / 1000) + 3600);

  async function open(url: string): Promise<void> {
    const response = await page.goto(url, { waitUntil: 'load' });
    expect(response?.status()).toBe(200);
    await page.waitForFunction(() => document.body.dataset.ready === 'true' || document.body.dataset.ready === 'error', { timeout: 30_000 });
    expect(await page.evaluate(() => document.body.dataset.ready)).toBe('true');
  }

  beforeAll(async () => {
    orm = await openTestOrm();
    dataDir = tempDir('player-browser');
    const paths = new StoragePaths(dataDir);
    const encoder = new StemEncoder({ paths });
    // A 1x1 PNG, as if from Spotify's image CDN (allowed through the routes' test hook).
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');
    artServer = createServer((req, res) => (req.url === '/art/cover.png' ? res.writeHead(200, { 'content-type': 'image/png' }).end(png) : res.writeHead(404).end()));
    await new Promise<void>((resolve) => artServer.listen(0, '127.0.0.1', resolve));
    artBase = `http://127.0.0.1:${(artServer.address() as AddressInfo).port}/art/`;
    server = await startFileServer({ host: '127.0.0.1', port: 0, secret: SECRET, lookup: stemLookup(orm), dataDir, log, routes: playerRoutes({ secret: SECRET, lookup: stemSetLookup(orm), paths, encoder, log, artTestBase: artBase }) });
    fake = await FakeDiscord.start({ guilds: [{ name: 'Test Server' }] });
    rest = restFor(fake);
    const em = orm.em.fork();
    tones = await makeToneSet(em, dataDir, {
      title: 'Sine Study No. 1',
      seconds: 12,
      artUrl: `${artBase}cover.png`,
      stems: Object.entries(TONES).map(([name, frequency]) => ({ name, frequency, amplitude: 0.2 })),
    });
    // 100 Hz and its negative: silent together only while sample-locked (1 ms apart would leave -10 dB).
    pair = await makeToneSet(em, dataDir, {
      title: 'Phase Pair',
      seconds: 25,
      stems: [
        { name: 'vocals', frequency: 100, amplitude: 0.3 },
        { name: 'bass', frequency: 100, amplitude: -0.3 },
      ],
    });
    // 440 Hz for 2 s, then 880 Hz: where the change is heard shows how fast the song plays.
    chirp = await makeToneSet(em, dataDir, {
      title: 'Chirp',
      seconds: 4,
      stems: [{ name: 'other', frequency: 440, amplitude: 0.3, sampleAt: (t) => 0.3 * Math.sin(2 * Math.PI * (t < 2 ? 440 : 880) * t) }],
    });
    // Shapes a song has (phrases, hits, a bass line, a swell), for the screenshots.
    let seed = 1;
    const noise = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff - 0.5) * 2;
    demo = await makeToneSet(em, dataDir, {
      title: 'Demo Song (Extended Mix)',
      artist: 'The Sine Waves',
      seconds: 16,
      stems: [
        { name: 'vocals', frequency: 330, amplitude: 0.3, sampleAt: (t) => (t % 4 < 3 ? 0.5 * Math.max(0, Math.sin(Math.PI * ((t % 4) / 3))) ** 0.5 : 0) * Math.sin(2 * Math.PI * (330 + 20 * Math.sin(t * 6)) * t) },
        { name: 'drums', frequency: 100, amplitude: 0.3, sampleAt: (t) => 0.8 * Math.exp(-((t % 0.5) * 18)) * noise() * (t % 2 < 1.5 ? 1 : 0.6) },
        { name: 'bass', frequency: 55, amplitude: 0.3, sampleAt: (t) => 0.45 * (0.6 + 0.4 * Math.cos(Math.PI * 2 * t)) * Math.sin(2 * Math.PI * (t % 8 < 4 ? 55 : 73.4) * t) },
        { name: 'other', frequency: 220, amplitude: 0.3, sampleAt: (t) => 0.35 * (t / 16) * (Math.sin(2 * Math.PI * 220 * t) + Math.sin(2 * Math.PI * 277 * t)) / 2 },
      ],
    });
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('request', (r) => requested.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await new Promise((resolve) => artServer?.close(resolve));
    await fake?.close();
    await orm?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('opens from the "Open in the stem player" link of the stems message and draws every lane', async () => {
    const result = await deliverStems({
      rest,
      target: { via: 'channel', channelId: fake.channelId },
      requesterId: '100000000000000077',
      track: { title: 'Sine Study No. 1', artist: 'Test Artist' },
      model: 'htdemucs',
      stems: tones.stems.map((s) => ({ id: s.id, name: s.name, filePath: s.filePath, durationSeconds: 12 })),
      stemSetId: tones.setId,
      links: { publicBaseUrl: server.url, secret: SECRET, playerDays: 7 },
      encoder: new StemEncoder({ paths: new StoragePaths(dataDir) }),
    });
    expect(result.state).toBe('delivered');
    const description = fake.message(result.messageIds[0]!)!.embeds[0]!.description!;
    const match = /🎛️ \[Open in the stem player\]\((http[^)]+)\)/.exec(description);
    expect(match, description).not.toBeNull();
    pageLink = match![1]!;
    expect(new URL(pageLink).pathname).toBe(`/player/${tones.setId}`);
    // The link lives SFA_PLAYER_LINK_DAYS (7) days.
    const exp = Number(new URL(pageLink).searchParams.get('exp'));
    expect(exp * 1000 - Date.now()).toBeGreaterThan(6.9 * 86400_000);

    await open(pageLink);
    expect(await page.$eval('#title', (e) => e.textContent)).toBe('Sine Study No. 1');
    const facts = await page.$$eval('#facts div', (divs) => divs.map((d) => d.textContent));
    expect(facts).toEqual(['Duration0:12', 'BPM128', 'KeyA minor', 'Camelot8A', 'Modelhtdemucs']);
    const lanes = await page.$$eval('.lane', (ls) => ls.map((l) => (l as HTMLElement).dataset.stem));
    expect(lanes).toEqual(['vocals', 'drums', 'bass']);
    // Each lane's canvas has its waveform drawn in the stem's colour.
    const drawn = await page.$$eval('.lane canvas', (canvases) =>
      canvases.map((c) => {
        const canvas = c as HTMLCanvasElement;
        const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        let painted = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) painted++;
        return painted / (canvas.width * canvas.height);
      }),
    );
    for (const share of drawn) expect(share).toBeGreaterThan(0.2);
    const colours = await page.$$eval('.lane', (ls) => ls.map((l) => (l as HTMLElement).style.getPropertyValue('--stem')));
    expect(colours).toEqual(['#aa8ed6', '#f4900c', '#55acee']);
    // The cover is shown, loaded from our server (which fetched it from the art server).
    const origin = new URL(server.url).origin;
    await page.waitForFunction(() => {
      const art = document.getElementById('art') as HTMLImageElement;
      return !art.hidden && art.complete && art.naturalWidth > 0;
    }, { timeout: 30_000 });
    expect(await page.$eval('#art', (e) => new URL((e as HTMLImageElement).src).pathname)).toBe(`/player/${tones.setId}/art`);
    expect(requested.some((u) => u.startsWith(`${origin}/player/${tones.setId}/art?`))).toBe(true);
    // Everything the page loaded came from our server.
    expect(requested.filter((u) => !u.startsWith(origin))).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });

  it('without PUBLIC_BASE_URL the stems message says why there is no player link', async () => {
    const result = await deliverStems({
      rest,
      target: { via: 'channel', channelId: fake.channelId },
      requesterId: '100000000000000077',
      track: { title: 'Sine Study No. 1' },
      model: 'htdemucs',
      stems: tones.stems.map((s) => ({ id: s.id, name: s.name, filePath: s.filePath, durationSeconds: 12 })),
      stemSetId: tones.setId,
      encoder: new StemEncoder({ paths: new StoragePaths(dataDir) }),
    });
    const description = fake.message(result.messageIds[0]!)!.embeds[0]!.description!;
    expect(description).toContain(`🎛️ Stem player: ${NO_PLAYER_LINK}`);
    expect(description).not.toContain('/player/');
  });

  it('plays every stem; a number key solos a stem, shift+number mutes it', async () => {
    await page.focus('#play');
    await page.keyboard.press('Enter');
    const playing = await waitFor('all stems to start', () => snapshot(page), (s) => s.playing && s.started.length === 3 && s.position > 0.5);
    expect(playing.started.sort()).toEqual(['bass', 'drums', 'vocals']);
    await wait(300);
    let s = await spectrum(page, [TONES.vocals, TONES.drums, TONES.bass]);
    for (const level of s.levels) expect(level).toBeGreaterThan(-45);

    await page.focus('body');
    await page.keyboard.press('Digit1'); // solo vocals
    await wait(400);
    s = await spectrum(page, [TONES.vocals, TONES.drums, TONES.bass]);
    expect(s.peakHz).toBeCloseTo(TONES.vocals, -1);
    expect(s.levels[0]! - s.levels[1]!).toBeGreaterThan(40);
    expect(s.levels[0]! - s.levels[2]!).toBeGreaterThan(40);
    expect(await page.$eval('.lane[data-stem=vocals] button', (b) => b.getAttribute('aria-pressed'))).toBe('true');

    await page.keyboard.press('Digit1'); // unsolo
    await page.keyboard.down('Shift');
    await page.keyboard.press('Digit1'); // mute vocals
    await page.keyboard.up('Shift');
    await wait(400);
    s = await spectrum(page, [TONES.vocals, TONES.drums, TONES.bass]);
    expect(s.levels[1]! - s.levels[0]!).toBeGreaterThan(40);
    expect(s.levels[2]! - s.levels[0]!).toBeGreaterThan(40);
    await page.keyboard.down('Shift');
    await page.keyboard.press('Digit1');
    await page.keyboard.up('Shift');

    // Space pauses.
    await page.keyboard.press('Space');
    await waitFor('pause', () => snapshot(page), (x) => !x.playing);
  });

  it('asks the server for exactly the mix that is heard', async () => {
    // Drums muted (shift+2), vocals at 50 %.
    await page.keyboard.down('Shift');
    await page.keyboard.press('Digit2');
    await page.keyboard.up('Shift');
    await page.$eval('.lane[data-stem=vocals] input[type=range]', (el) => {
      const input = el as HTMLInputElement;
      input.value = '50';
      input.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await page.select('#mix-format', 'flac');
    const response = page.waitForResponse((r) => r.url().includes('/mix?'));
    await page.click('#mix-form button');
    const mix = await response;
    const url = new URL(mix.url());
    expect(url.searchParams.get('format')).toBe('flac');
    expect(url.searchParams.get('v')).toBe('vocals:0.5,drums:0,bass:1');
    expect(mix.status()).toBe(200);
    expect(mix.headers()['content-disposition']).toContain('sine-study-no-1-mix-vocals-bass.flac');
    await page.keyboard.down('Shift');
    await page.keyboard.press('Digit2');
    await page.keyboard.up('Shift');
  });

  it('keeps the stems sample-locked after 10 random seeks and a tempo change', async () => {
    await open(link(pair));
    await engineCall(page, 'play');
    await waitFor('playing', () => snapshot(page), (s) => s.playing && s.started.length === 2);
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let i = 0; i < 10; i++) {
      await engineCall(page, 'seek', random() * 22);
      await wait(120);
    }
    await page.$eval('#tempo', (el) => {
      const input = el as HTMLInputElement;
      input.value = '80';
      input.dispatchEvent(new Event('input', { bubbles: true }));
    });
    const after = await waitFor('the new tempo', () => snapshot(page), (s) => s.tempo === 0.8 && s.sources.length > 0 && s.sources.every((x) => Math.abs(x.rate - 0.8) < 1e-6));
    expect(after.playing).toBe(true);
    await wait(1200);
    // Together: silence. Each alone: the 100 Hz tone at full level.
    const together = await spectrum(page, [100]);
    await page.keyboard.press('Digit1');
    await wait(600);
    const alone = await spectrum(page, [100]);
    await page.keyboard.press('Digit1');
    expect(alone.rms).toBeGreaterThan(0.1);
    expect(20 * Math.log10(together.rms / alone.rms)).toBeLessThan(-30);
    await engineCall(page, 'pause');
  });

  it('repeats the A-B loop', async () => {
    await engineCall(page, 'setTempo', 1);
    await engineCall(page, 'seek', 10);
    await engineCall(page, 'setLoop', 10.5, 11.5);
    await engineCall(page, 'play');
    const positions: number[] = [];
    const t0 = Date.now();
    while (Date.now() - t0 < 3500) {
      positions.push((await snapshot(page)).position);
      await wait(40);
    }
    await engineCall(page, 'pause');
    await engineCall(page, 'setLoop', null, null);
    const wrapsAt = positions.flatMap((p, i) => (i > 0 && p < positions[i - 1]! - 0.5 ? [i] : []));
    expect(wrapsAt.length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...positions)).toBeLessThan(11.55);
    // After the first time round, the playhead stays between A and B.
    expect(Math.min(...positions.slice(wrapsAt[0]))).toBeGreaterThan(10.45);
  });

  it('at 75 % tempo plays 4/3 as long with the pitch unchanged', async () => {
    await open(link(chirp));
    await page.$eval('#tempo', (el) => {
      const input = el as HTMLInputElement;
      input.value = '75';
      input.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await engineCall(page, 'play');
    const first = await waitFor('playing', () => snapshot(page), (s) => s.playing && s.position > 0.2);
    const start = first.ctxTime - first.position / 0.75;
    // Before the change: 440 Hz, as in the file.
    await wait(600);
    const before = await spectrum(page, [440, 880]);
    expect(Math.abs(before.peakHz - 440)).toBeLessThan(8);
    // The change from 440 to 880 Hz is 2 s into the song: at 75 % it is heard after 2.67 s.
    const heard = await waitFor('880 Hz', () => spectrum(page, [440, 880]), (x) => Math.abs(x.peakHz - 880) < 8, 10_000);
    const elapsed = heard.ctxTime - start;
    expect(elapsed).toBeGreaterThan((2 / 0.75) * 0.93);
    expect(elapsed).toBeLessThan((2 / 0.75) * 1.1 + 0.35); // analyser window + SoundTouch latency
    const ended = await waitFor('the end', () => snapshot(page), (x) => !x.playing, 10_000);
    expect((ended.ctxTime - start) / 4).toBeGreaterThan(1.3);
    expect((ended.ctxTime - start) / 4).toBeLessThan(1.45);
  });

  it('shifts the pitch by +12 semitones without changing the tempo', async () => {
    await open(link(chirp));
    await page.$eval('#pitch', (el) => {
      const input = el as HTMLInputElement;
      input.value = '12';
      input.dispatchEvent(new Event('change', { bubbles: true }));
    });
    await engineCall(page, 'play');
    const first = await waitFor('playing', () => snapshot(page), (s) => s.playing && s.position > 0.2);
    const start = first.ctxTime - first.position;
    await wait(600);
    expect(Math.abs((await spectrum(page, [880])).peakHz - 880)).toBeLessThan(10);
    // The song's 440 -> 880 Hz change (2 s in) is heard as 880 -> 1760 Hz, still 2 s in.
    const heard = await waitFor('1760 Hz', () => spectrum(page, [1760]), (x) => Math.abs(x.peakHz - 1760) < 12, 10_000);
    expect(heard.ctxTime - start).toBeGreaterThan(2 * 0.93);
    expect(heard.ctxTime - start).toBeLessThan(2 * 1.1 + 0.35);
    await engineCall(page, 'pause');
  });

  it('refuses a tampered or expired link with 403 and a Content-Security-Policy', async () => {
    const good = new URL(pageLink);
    const tampered = `${good.origin}${good.pathname}?exp=${good.searchParams.get('exp')}&sig=${'0'.repeat(64)}`;
    const expired = playerUrl(server.url, SECRET, tones.setId, Math.floor(Date.now() / 1000) - 60);
    for (const url of [tampered, expired]) {
      const response = await page.goto(url);
      expect(response?.status()).toBe(403);
      expect(response?.headers()['content-security-policy']).toContain("default-src 'none'");
    }
    const ok = await page.goto(pageLink);
    expect(ok?.headers()['content-security-policy']).toContain("script-src 'self'");
  });

  it('reads well on a phone and a desktop, dark and light (screenshots)', async () => {
    const out = testOutputDir('player');
    for (const [name, viewport] of [
      ['phone', { width: 390, height: 844, deviceScaleFactor: 2, isMobile: true, hasTouch: true }],
      ['desktop', { width: 1280, height: 800, deviceScaleFactor: 1 }],
    ] as const) {
      for (const scheme of ['dark', 'light'] as const) {
        await page.setViewport(viewport);
        await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: scheme }]);
        await open(link(demo));
        await page.evaluate(() => (window as unknown as { sfaPlayer: { engine: { seek(t: number): void }; render(): void } }).sfaPlayer.engine.seek(6.3));
        await page.evaluate(() => (window as unknown as { sfaPlayer: { render(): void } }).sfaPlayer.render());
        // Nothing wider than the screen.
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewport.width);
        await page.screenshot({ path: path.join(out, `player-${name}-${scheme}.png`), fullPage: true });
      }
    }
    // Keyboard only: Tab reaches the play button first after the skip link, then the controls in order.
    await page.setViewport({ width: 1280, height: 800 });
    await open(pageLink);
    const order: string[] = [];
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press('Tab');
      order.push(await page.evaluate(() => (document.activeElement as HTMLElement).id || (document.activeElement as HTMLElement).textContent!.trim()));
    }
    expect(order).toEqual(['Skip to the controls', 'play', 'tempo', 'pitch']);
    // Every control has a name.
    const unnamed = await page.$$eval('button, input, select, canvas[tabindex]', (els) =>
      els.filter((e) => !(e.getAttribute('aria-label') || e.textContent!.trim() || e.closest('label'))).map((e) => e.outerHTML),
    );
    expect(unnamed).toEqual([]);
  });
}, 240_000);
