/**
 * Hostile local files through the CLI door: `sfa analyze` / `sfa separate`
 * (node bin/sfa.js, as a user runs it) on playlists, lists and manifests
 * disguised as audio in every extension, decompression bombs, lying headers,
 * broken files, things that are not files, an unreadable file and hostile
 * names. Each case checks what the user sees (exit code, a specific message),
 * that nothing is left queued/downloading/processing, and that the data folder
 * holds nothing outside its own places (no hostile bytes stored, no work
 * folder left). One database and data folder for the file; the engine runs
 * only where a file gets through validation (elsewhere SFA_PYTHON points
 * nowhere, which also proves no engine work was needed).
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyModels, tempDir } from '../pipeline/helpers.ts';
import { cliEnv, count, createCliDatabase, sfa, type CliDatabase } from '../cli/helpers.ts';
import {
  AUDIO_EXTENSIONS,
  flacBodyBomb,
  flacHeaderBomb,
  indirection,
  longUnicodeName,
  lyingWav,
  mp3HeaderBomb,
  png,
  text,
  tone,
  truncatedFlac,
} from './hostileFiles.ts';

let db: CliDatabase;
let work: string;
let files: string;
let dataDir: string;
let modelDir: string;
let secret: string;
let env: Record<string, string>;

const ACTIVE = `select 1 from download_jobs where status in ('queued', 'downloading', 'processing')
  union all select 1 from processing_jobs where status in ('queued', 'downloading', 'processing')
  union all select 1 from analysis_jobs where status in ('queued', 'downloading', 'processing')`;
const MAX_SECONDS = 120;

/** Runs the CLI; without `engine` the Python engine cannot start (nothing that is refused may need it). */
async function run(args: string[], options: { engine?: boolean; cwd?: string } = {}) {
  const withEngine = options.engine ? env : { ...env, SFA_PYTHON: path.join(work, 'no-python') };
  return sfa(args, { env: withEngine, cwd: options.cwd ?? files, timeoutMs: 240_000 });
}

/** What every case must leave behind: no active row, no work folder, no stored copy of hostile bytes. */
async function expectNothingLeft(): Promise<void> {
  expect(await count(db.orm, ACTIVE)).toBe(0);
  const top = existsSync(dataDir) ? readdirSync(dataDir) : [];
  for (const name of top) expect(['downloads', 'stems', 'analysis', 'tmp', 'uploads']).toContain(name);
  if (top.includes('tmp')) expect(readdirSync(path.join(dataDir, 'tmp'))).toEqual([]);
  // Every stored download is a completed row's: nothing refused was kept.
  const stored = top.includes('downloads') ? readdirSync(path.join(dataDir, 'downloads'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()) : [];
  expect(stored.length).toBe(await count(db.orm, `select 1 from download_jobs where status = 'completed' and output_path is not null`));
  for (const entry of stored) expect(readFileSync(path.join(entry.parentPath, entry.name)).subarray(0, 7).toString()).not.toBe('#EXTM3U');
}

beforeAll(async () => {
  [db, modelDir] = await Promise.all([createCliDatabase(), makeTinyModels(['htdemucs'])]);
  work = tempDir('hostile-cli');
  files = path.join(work, 'files');
  mkdirSync(files);
  dataDir = path.join(work, 'data');
  env = cliEnv({ DATABASE_URL: db.url, SFA_DATA_DIR: dataDir, SFA_MODEL_DIR: modelDir, SFA_MAX_DURATION_SECONDS: String(MAX_SECONDS) });
  secret = await tone(path.join(files, 'secret.mp3'), 3);
}, 120_000);

afterAll(async () => {
  await db?.close();
  for (const dir of [work, modelDir]) if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('hostile files through the CLI: playlists, lists and manifests disguised as audio', () => {
  for (const ext of AUDIO_EXTENSIONS) {
    it(`an HLS playlist named .${ext} is refused, and the file it names is not read`, async () => {
      const file = text(path.join(files, `playlist-hls.${ext}`), indirection('hls', secret));
      const r = await run(['analyze', file]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('download failed: That file is an HLS playlist, not an audio format I accept');
      await expectNothingLeft();
    }, 240_000);
  }

  const others: [string, string, RegExp][] = [
    ['concat', 'mp3', /That file is not audio we can read/], // no "ffconcat" line: nothing takes it for a list
    ['ffconcat', 'wav', /That file is a concat list, not an audio format I accept/],
    ['sdp', 'm4a', /That file is an SDP session description, not an audio format I accept/],
    ['dash', 'opus', /That file is a DASH manifest, not an audio format I accept/],
    ['pls', 'ogg', /That file is a lyrics file, not an audio format I accept/], // ffmpeg takes it for LRC lyrics
    ['m3u', 'flac', /Could not tell how long that audio is; the file may be damaged/], // plain M3U: no demuxer follows it
  ];
  for (const [kind, ext, message] of others) {
    it(`a ${kind} file named .${ext} is refused with what it is`, async () => {
      const file = text(path.join(files, `list-${kind}.${ext}`), indirection(kind as Parameters<typeof indirection>[0], secret));
      const r = await run(['analyze', file]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      await expectNothingLeft();
    }, 240_000);
  }

  it('sfa separate refuses an HLS playlist too (and a file: URL to one)', async () => {
    const file = text(path.join(files, 'sep-hls.webm'), indirection('hls', secret));
    const r = await run(['separate', `file://${file}`, '--out', path.join(work, 'out-hls')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('That file is an HLS playlist');
    expect(existsSync(path.join(work, 'out-hls'))).toBe(false);
    await expectNothingLeft();
  }, 240_000);

  it('an image, a subtitle file and a WAV with a codec not on the list are refused', async () => {
    const cases: [string, RegExp][] = [
      [await png(path.join(files, 'cover.mp3')), /That file is an image, not an audio format I accept/],
      [text(path.join(files, 'lyrics.ogg'), '1\n00:00:01,000 --> 00:00:02,000\nhello\n\n'), /That file is a subtitle file/],
      [await tone(path.join(files, 'adpcm.wav'), 2, ['-c:a', 'adpcm_ima_wav']), /That file holds adpcm_ima_wav audio, a codec I do not accept/],
    ];
    for (const [file, message] of cases) {
      const r = await run(['analyze', file]);
      expect([file, r.code]).toEqual([file, 1]);
      expect(r.stderr).toMatch(message);
    }
    await expectNothingLeft();
  }, 240_000);
});

describe('hostile files through the CLI: bombs and lying headers', () => {
  it('a 10 KB FLAC whose header says 5 hours is refused by the duration limit before any decoding', async () => {
    const r = await run(['analyze', await flacHeaderBomb(path.join(files, 'bomb-header.flac'))]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('The track is 5:00:00 long; the limit is 2:00');
    await expectNothingLeft();
  }, 240_000);

  it('a 50 KB MP3 whose Xing header says 5 hours is refused the same way', async () => {
    const r = await run(['analyze', await mp3HeaderBomb(path.join(files, 'bomb-header.mp3'))]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/The track is 4:59:\d\d long; the limit is 2:00|The track is 5:00:00 long; the limit is 2:00/);
    await expectNothingLeft();
  }, 240_000);

  it('a FLAC that says 4 s but decodes to 30 minutes: the separation stops at the duration limit', async () => {
    const r = await run(['separate', await flacBodyBomb(path.join(files, 'bomb-body.flac')), '--out', path.join(work, 'out-bomb')], { engine: true });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/separate failed: The track is too long: input is longer than max_duration \(120 s\)/);
    expect(existsSync(path.join(work, 'out-bomb'))).toBe(false);
    await expectNothingLeft();
  }, 240_000);

  it('a WAV whose header claims an hour (3 s inside) is refused as damaged, not read as an hour', async () => {
    const r = await run(['analyze', await lyingWav(path.join(files, 'lying.wav'))]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('download failed: The audio could not be decoded (the file looks damaged)');
    await expectNothingLeft();
  }, 240_000);
});

describe('hostile files through the CLI: broken files and things that are not files', () => {
  it('0-byte, 1-byte, zero-filled and truncated files are refused with a message, not a crash', async () => {
    const cases: [string, string][] = [
      [text(path.join(files, 'empty.mp3'), ''), 'The audio file is empty'],
      [text(path.join(files, 'one.wav'), 'R'), 'That file is not audio we can read'],
      [await truncatedFlac(path.join(files, 'truncated.flac')), 'That file is not audio we can read'],
      [text(path.join(files, 'zeros.mp3'), Buffer.alloc(4096)), 'That file is not audio we can read'],
    ];
    for (const [file, message] of cases) {
      const r = await run(['analyze', file]);
      expect([path.basename(file), r.code]).toEqual([path.basename(file), 1]);
      expect(r.stderr).toContain(message);
    }
    await expectNothingLeft();
  }, 240_000);

  it('a WAV cut after its header is too short', async () => {
    const wav = await tone(path.join(files, 'full.wav'), 3, ['-c:a', 'pcm_s16le']);
    const cut = text(path.join(files, 'cut.wav'), readFileSync(wav).subarray(0, 100));
    const r = await run(['analyze', cut]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/The audio is only 0\.\d\d s long; send at least 1 s/);
    await expectNothingLeft();
  }, 240_000);

  it('a folder, a fifo and devices are usage errors (exit 2) that queue nothing', async () => {
    const fifo = path.join(files, 'pipe.mp3');
    await execa('mkfifo', [fifo]);
    const before = await count(db.orm, 'select 1 from tracks');
    const cases: [string, string, string][] = [
      ['analyze', files, 'That is a folder, not an audio file'],
      ['separate', fifo, 'That is a pipe (FIFO), not an audio file'],
      ['analyze', '/dev/zero', 'That is a device, not an audio file'],
      ['separate', '/dev/urandom', 'That is a device, not an audio file'],
    ];
    for (const [command, input, message] of cases) {
      const r = await run([command, input]);
      expect([input, r.code]).toEqual([input, 2]);
      expect(r.stderr).toContain(`sfa ${command}: ${input}: ${message}`);
    }
    expect(await count(db.orm, 'select 1 from tracks')).toBe(before);
    await expectNothingLeft();
  }, 240_000);

  it('a symlink to a file outside (/etc/passwd) named song.mp3 is not audio', async () => {
    const link = path.join(files, 'song.mp3');
    symlinkSync('/etc/passwd', link);
    const r = await run(['analyze', link]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('That file is not audio we can read');
    expect(r.stderr).not.toContain('root:');
    await expectNothingLeft();
  }, 240_000);

  it('a file the user running sfa cannot read: "cannot read the file (permission denied)"', async () => {
    // Root reads anything, so this run is an ordinary user (nobody) with a data folder of its own.
    const own = path.join(work, 'nobody');
    mkdirSync(path.join(own, 'data'), { recursive: true });
    chownSync(path.join(own, 'data'), 65534, 65534);
    chmodSync(work, 0o755);
    chmodSync(own, 0o755);
    const locked = await tone(path.join(own, 'locked.wav'), 2);
    chmodSync(locked, 0o600);
    chmodSync(files, 0o755);
    const r = await execa(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, path.resolve('bin/sfa.js'), 'analyze', locked],
      { env: { ...env, HOME: own, SFA_DATA_DIR: path.join(own, 'data'), SFA_PYTHON: path.join(work, 'no-python') }, extendEnv: false, reject: false, timeout: 240_000 },
    );
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).toContain('download failed: Cannot read the file (permission denied).');
    expect(r.stderr).not.toMatch(/web page|not audio/);
    await expectNothingLeft();
  }, 240_000);
});

describe('hostile file names through the CLI', () => {
  const names: [string, string][] = [
    ['a newline', 'line\nbreak.mp3'],
    ['quotes', `it's "quoted".wav`],
    ['a command substitution', '$(touch pwned).flac'],
    ['backticks and a semicolon', '`touch pwned`; rm -rf x.ogg'],
    ['255 bytes of unicode', longUnicodeName('m4a')],
  ];
  for (const [what, name] of names) {
    it(`a playlist with ${what} in its name is refused and runs nothing`, async () => {
      const file = text(path.join(files, name), indirection('hls', secret));
      const r = await run(['analyze', file]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('That file is an HLS playlist');
      expect(existsSync(path.join(files, 'pwned'))).toBe(false);
      expect(existsSync(path.join(process.cwd(), 'pwned'))).toBe(false);
      await expectNothingLeft();
    }, 240_000);
  }

  it('a real song whose name starts with dashes and holds a colon is read as a file, never as an option or URL', async () => {
    const file = await tone(path.join(files, '-i http:x --help.wav'), 2, ['-f', 'wav']);
    const r = await run(['analyze', file, '--json'], { engine: true });
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { features: { duration: number } }).features.duration).toBeCloseTo(2, 0);
    await expectNothingLeft();
  }, 240_000);

  it('a real song with a 255-byte unicode name is analysed, its title kept', async () => {
    const name = longUnicodeName('flac');
    expect(Buffer.byteLength(name)).toBe(255);
    const r = await run(['analyze', await tone(path.join(files, name), 2), '--json'], { engine: true });
    expect(r.code, r.stderr).toBe(0);
    const titles = await db.orm.em.fork().execute<{ title: string }[]>(`select title from tracks where title like 'éé%'`);
    expect(titles.map((t) => t.title)).toContain(name.slice(0, -'.flac'.length).slice(0, 200));
    await expectNothingLeft();
  }, 240_000);
});
