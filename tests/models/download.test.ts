/**
 * `sfa models download` as a user runs it (node bin/sfa.js in a child
 * process) against a local server in demucs' layout serving generated tiny
 * checkpoints under their real naming rule (`<sig>-<sha256[:8]>.th`).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { REPO_ROOT } from '../../src/config.ts';
import { cliEnv, sfa, startSfa } from '../cli/helpers.ts';
import { tempDir } from '../engine/helpers.ts';
import { closedPortUrl } from '../support/fakeHttp.ts';
import { makeServedFiles, servedCheckpoint, startModelServer, ROOT, type ModelServer } from '../support/modelServer.ts';
import { until } from '../support/wait.ts';

let served: Map<string, Buffer>;
let server: ModelServer;
let dir: string;
const dirs: string[] = [];

const env = (extra: Record<string, string> = {}) => cliEnv({ SFA_MODEL_BASE_URL: server.baseUrl, SFA_MODEL_DIR: dir, ...extra });
const htdemucs = () => servedCheckpoint(server, '955717e8');
/** Files a user would see in the folder (hidden .part files included). */
const listing = (d = dir) => (existsSync(d) ? readdirSync(d).sort() : []);

beforeAll(async () => {
  served = await makeServedFiles(['htdemucs', 'htdemucs_ft']);
}, 180_000);

beforeEach(async () => {
  server = await startModelServer(new Map(served));
  dir = tempDir('download');
  dirs.push(dir);
});
afterEach(async () => {
  await server.close();
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('sfa models download', () => {
  it('fetches the default model, verified, in demucs layout, and `models check` loads it', async () => {
    const run = await sfa(['models', 'download'], { env: env() });
    expect(run.stderr).toContain(`downloading into ${dir} from ${server.baseUrl} (list: ${server.baseUrl}/files.txt)`);
    expect(run.stderr).toMatch(/htdemucs: downloading, 0 % of [\d.]+ MB/);
    expect(run.stdout).toContain(`htdemucs: installed and verified in ${dir} (fetched ${htdemucs().name}`);
    expect(run.code).toBe(0);
    expect(listing()).toEqual([htdemucs().name, 'htdemucs.yaml']);
    expect(readFileSync(path.join(dir, htdemucs().name)).equals(htdemucs().content)).toBe(true);
    expect(readFileSync(path.join(dir, 'htdemucs.yaml'), 'utf8')).toBe("models: ['955717e8']\n");

    const list = JSON.parse((await sfa(['models', 'list', '--json'], { env: env() })).stdout) as { models: { name: string; state: string; bytesOnDisk: number }[] };
    expect(list.models.find((m) => m.name === 'htdemucs')).toMatchObject({ state: 'installed', bytesOnDisk: htdemucs().content.length + "models: ['955717e8']\n".length });
    expect(list.models.find((m) => m.name === 'htdemucs_ft')).toMatchObject({ state: 'downloadable', bytesOnDisk: 0 });

    const check = await sfa(['models', 'check', 'htdemucs'], { env: env() });
    expect(check.stdout).toContain('htdemucs: ok (1 network(s)');
    expect(check.stdout).toContain('checksums match, loads and runs');
    expect(check.code).toBe(0);

    // Again: nothing fetched, the files are verified in place.
    const again = await sfa(['models', 'download', 'htdemucs', '--json'], { env: env() });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({ dir, models: [{ model: 'htdemucs', state: 'installed', fetched: [], kept: [htdemucs().name], bytesFetched: 0 }] });
    expect(server.requestsFor(htdemucs().name)).toHaveLength(1);
  }, 120_000);

  it('fetches a bag of four with --dir=D and --json; `all` and several names are accepted', async () => {
    const other = path.join(tempDir('download-dir'), 'models');
    dirs.push(path.dirname(other));
    const run = await sfa(['models', 'download', `--dir=${other}`, '--json', '--', 'htdemucs_ft'], { env: env() });
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { dir: string; models: { model: string; fetched: string[] }[] };
    expect(out.dir).toBe(other);
    expect(out.models[0]!.fetched.map((n) => n.split('-')[0])).toEqual(['f7e0c4bc', 'd12395a8', '92cfc3b6', '04573f0d']);
    expect(listing(other)).toHaveLength(5);
    expect(listing()).toEqual([]); // SFA_MODEL_DIR untouched
  }, 120_000);

  it('list and check call a damaged file unverified; download replaces it with a good copy', async () => {
    const { name, content } = htdemucs();
    expect((await sfa(['models', 'download'], { env: env() })).code).toBe(0);
    const damaged = Buffer.from(content);
    damaged.writeUInt8(damaged.readUInt8(100) ^ 0xff, 100);
    writeFileSync(path.join(dir, name), damaged);

    const list = await sfa(['models', 'list'], { env: env() });
    expect(list.stdout).toMatch(/^htdemucs\s+drums,bass,other,vocals\s+1x\s+~84 MB\s+0\.\d\d MB\s+unverified$/m);
    const check = await sfa(['models', 'check', 'htdemucs'], { env: env() });
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(`htdemucs: FAILED verification in ${dir}:\n  ${name}: its sha256 does not start with ${name.slice(9, 17)} (corrupt or incomplete)`);

    const repaired = await sfa(['models', 'download', 'htdemucs'], { env: env() });
    expect(repaired.code).toBe(0);
    expect(repaired.stdout).toContain(`(fetched ${name}`);
    expect(readFileSync(path.join(dir, name)).equals(content)).toBe(true);
    expect((await sfa(['models', 'list', '--json'], { env: env() })).stdout).toContain('"state": "installed"');
  }, 120_000);

  it('refuses a corrupt file: names it, where it came from and what was expected, and leaves nothing behind', async () => {
    server.plan(htdemucs().name, 'corrupt', 'corrupt');
    const run = await sfa(['models', 'download', 'htdemucs'], { env: env() });
    expect(run.code).toBe(1);
    const checksum = htdemucs().name.slice(9, 17);
    expect(run.stderr).toContain(`${htdemucs().name} from ${server.baseUrl}/${ROOT}${htdemucs().name} is corrupt`);
    expect(run.stderr).toContain(`expected ${checksum}`);
    expect(run.stderr).toContain('The partial file was deleted');
    expect(listing()).toEqual(['htdemucs.yaml']);
    expect((await sfa(['models', 'list', '--json'], { env: env() })).stdout).toContain('"state": "downloadable"');
  }, 60_000);

  it("uses demucs' packaged list and real file names when the mirror has no files.txt (and checks them)", async () => {
    server.serveList = false;
    // A mirror that serves something else under the real name of htdemucs' checkpoint.
    server.files.set('955717e8-8726e21a.th', htdemucs().content);
    const run = await sfa(['models', 'download', 'htdemucs'], { env: env() });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/list: .*demucs\/remote\/files\.txt/);
    expect(server.http.requests.map((r) => r.path)).toContain(`/${ROOT}955717e8-8726e21a.th`);
    expect(run.stderr).toContain('955717e8-8726e21a.th from');
    expect(run.stderr).toContain('expected 8726e21a');
    expect(listing()).toEqual(['htdemucs.yaml']);
  }, 60_000);

  it('resumes with a Range request after the server cut the connection half way', async () => {
    const { name, content } = htdemucs();
    server.plan(name, 'cut');
    const run = await sfa(['models', 'download'], { env: env() });
    expect(run.code).toBe(0);
    const requests = server.requestsFor(name);
    expect(requests).toHaveLength(2);
    expect(requests[0]!.headers.range).toBeUndefined();
    // It asks for the rest from what arrived before the cut (at most the half the server sent).
    const from = Number(/^bytes=(\d+)-$/.exec(String(requests[1]!.headers.range))?.[1]);
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThanOrEqual(content.length >> 1);
    expect(readFileSync(path.join(dir, name)).equals(content)).toBe(true);
  }, 60_000);

  it('Ctrl-C leaves only a hidden partial file, and the next run resumes it', async () => {
    const { name, content } = htdemucs();
    server.plan(name, 'slow');
    const child = startSfa(['models', 'download'], { env: env() });
    await until('the download to start', async () => (server.sent.get(name) ?? 0) > 0 && existsSync(path.join(dir, `.${name}.part`)));
    child.kill('SIGINT');
    const stopped = await child;
    expect(stopped.exitCode).toBe(130);
    expect(String(stopped.stderr)).toContain('interrupted; the part already fetched is kept');
    expect(listing()).toEqual([`.${name}.part`, 'htdemucs.yaml']);
    const kept = statSync(path.join(dir, `.${name}.part`)).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(content.length);

    const resumed = await sfa(['models', 'download'], { env: env() });
    expect(resumed.code).toBe(0);
    expect(server.requestsFor(name).at(-1)!.headers.range).toBe(`bytes=${kept}-`);
    expect(listing()).toEqual([name, 'htdemucs.yaml']);
    expect(readFileSync(path.join(dir, name)).equals(content)).toBe(true);
  }, 120_000);

  it('on a terminal: one bar redrawn in place, with bytes, rate and time left', async () => {
    const { name } = htdemucs();
    server.plan(name, 'slow');
    // script(1) gives the command a pseudo-terminal, as a user's shell would.
    const run = await execa('script', ['-qfec', `${process.execPath} ${path.join(REPO_ROOT, 'bin/sfa.js')} models download`, '/dev/null'], {
      env: env({ TERM: 'xterm' }),
      extendEnv: false,
      reject: false,
      timeout: 120_000,
    });
    expect(run.exitCode).toBe(0);
    const frames = String(run.stdout).split('\r\x1b[K').slice(1);
    expect(frames.length).toBeGreaterThanOrEqual(3);
    expect(frames.some((f) => /^htdemucs {2}\[#*\.*\] +\d+% {2}0\.\d+ MB of 0\.\d+ MB {2}[\d.]+ MB\/s {2}ETA \d+:\d\d/.test(f))).toBe(true);
    expect(String(run.stdout)).toContain(`htdemucs: installed and verified in ${dir}`);
  }, 120_000);

  it('two processes downloading the same model at once fetch it once and both end with a good model', async () => {
    const { name, content } = htdemucs();
    server.plan(name, 'slow');
    const first = startSfa(['models', 'download', 'htdemucs'], { env: env() });
    await until('the first download to start', async () => (server.sent.get(name) ?? 0) > 0);
    const second = startSfa(['models', 'download', 'htdemucs'], { env: env() });
    const [a, b] = await Promise.all([first, second]);
    expect([a.exitCode, b.exitCode]).toEqual([0, 0]);
    expect(String(b.stderr)).toContain('htdemucs: another process is downloading it');
    expect(server.requestsFor(name)).toHaveLength(1);
    expect(server.sent.get(name)).toBe(content.length);
    expect(String(a.stdout)).toContain(`(fetched ${name}`);
    expect(String(b.stdout)).toContain('(already there)');
    expect(listing()).toEqual([name, 'htdemucs.yaml']);
  }, 120_000);

  describe('says what went wrong and what to do next', () => {
    const manualHint = () => [`To install htdemucs by hand`, `${server.baseUrl}/${ROOT}${htdemucs().name}  ->  ${dir}/${htdemucs().name}`, 'npx sfa models check htdemucs'];

    it.for([
      { behaviour: 'not_found', says: '(404 Not Found at' },
      { behaviour: 'forbidden', says: '(403 Forbidden at' },
      { behaviour: 'html', says: 'sent a web page instead of' },
    ] as const)('$behaviour', { timeout: 60_000 }, async ({ behaviour, says }) => {
      server.plan(htdemucs().name, behaviour);
      const run = await sfa(['models', 'download'], { env: env() });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(says);
      expect(run.stderr).toContain(htdemucs().name);
      for (const part of manualHint()) expect(run.stderr).toContain(part);
      expect(listing()).toEqual(['htdemucs.yaml']); // no file from the error page
    });

    it('offline (nothing answers at the base URL)', async () => {
      const url = await closedPortUrl();
      const run = await sfa(['models', 'download'], { env: env({ SFA_MODEL_BASE_URL: url }) });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`cannot reach ${new URL(url).host} (ECONNREFUSED): is this machine offline?`);
      // What to fetch elsewhere: demucs' own URLs from its packaged list.
      expect(run.stderr).toContain(`https://dl.fbaipublicfiles.com/demucs/hybrid_transformer/955717e8-8726e21a.th  ->  ${dir}/955717e8-8726e21a.th`);
      expect(listing()).toEqual([]);
    }, 60_000);

    it('an unwritable folder (a path through a regular file)', async () => {
      const file = path.join(dir, 'not-a-folder');
      writeFileSync(file, 'x');
      const run = await sfa(['models', 'download', '--dir', path.join(file, 'models')], { env: env() });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`cannot write model files into ${path.join(file, 'models')} (a part of that path is a file, not a folder). Choose a folder you can write to with --dir or SFA_MODEL_DIR.`);
      expect(server.requestsFor(htdemucs().name)).toHaveLength(0);
    }, 60_000);

    it('a full disk (a 64 KiB tmpfs)', async () => {
      const small = path.join(dir, 'small');
      mkdirSync(small);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', small]);
      try {
        const run = await sfa(['models', 'download', '--dir', small], { env: env() });
        expect(run.code).toBe(1);
        expect(run.stderr).toMatch(new RegExp(`not enough space in ${small}: [\\d.]+ MB more needed, [\\d.]+ MB free\\. Free some space there`));
        expect(readdirSync(small).filter((n) => n.endsWith('.th'))).toEqual([]);
      } finally {
        execFileSync('umount', [small]);
      }
    }, 60_000);
  });

  it('refuses unknown models and options with the usage (exit 2), before any download', async () => {
    const unknown = await sfa(['models', 'download', 'nope'], { env: env() });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Unknown model "nope"');
    const option = await sfa(['models', 'download', '--force'], { env: env() });
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("Unknown option '--force'");
    expect(option.stderr).toContain('usage: sfa models list');
    expect(server.http.requests).toHaveLength(0);
  }, 60_000);
});
