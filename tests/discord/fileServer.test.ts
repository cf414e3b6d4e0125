/**
 * The bot's file server over real HTTP, with Stem rows in the per-run
 * PostgreSQL database and generated stem files: only a correctly signed,
 * unexpired link gets the file; the path comes from the row and must be in the
 * data folder; the headers name the file safely; HEAD and single ranges work.
 * Also the link secret kept under the data folder when SFA_LINK_SECRET is unset.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config.ts';
import { startFileServer, TEXT, type FileServer } from '../../src/bot/files/server.ts';
import { stemLookup } from '../../src/bot/files/lookup.ts';
import { LINK_SECRET_FILE, LinkSecretError, resolveLinkSecret } from '../../src/bot/files/secret.ts';
import { createOrm, type Orm } from '../../src/db/orm.ts';
import { signedUrl } from '../../src/domain/signedLink.ts';
import { openTestOrm } from '../support/db.ts';
import { tempDir, toneWav } from '../engine/helpers.ts';
import { makeStemRows } from './deliveryHelpers.ts';

const SECRET = 'file-server-test-secret-abcdef';
const sha = (data: Buffer | Uint8Array) => createHash('sha256').update(data).digest('hex');
const hour = () => Math.floor(Date.now() / 1000) + 3600;

describe('file server', () => {
  let orm: Orm;
  let dataDir: string;
  let server: FileServer;
  const errors: string[] = [];
  const log = { info: () => undefined, warn: () => undefined, error: (m: string) => errors.push(m) };
  let stemId: string;
  let stemPath: string;
  let bytes: Buffer;
  const link = (id: string, exp = hour(), base = server.url) => signedUrl(base, SECRET, id, exp);

  beforeAll(async () => {
    orm = await openTestOrm();
    dataDir = tempDir('files');
    server = await startFileServer({ host: '127.0.0.1', port: 0, secret: SECRET, lookup: stemLookup(orm), dataDir, log, publicBaseUrl: 'https://stems.example.org/sfa/' });
    const { stems } = await makeStemRows(orm.em.fork(), dataDir, 'Björk – Jóga (Live) 東京', [{ name: 'vocals', seconds: 2 }]);
    stemId = stems[0]!.id;
    stemPath = stems[0]!.filePath;
    bytes = await readFile(stemPath);
  });
  afterAll(async () => {
    await server?.close();
    await orm?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves a signed link: the exact bytes, with type, length and a safe file name', async () => {
    const response = await fetch(link(stemId));
    expect(response.status).toBe(200);
    expect(sha(new Uint8Array(await response.arrayBuffer()))).toBe(sha(bytes));
    expect(Object.fromEntries(['content-type', 'content-length', 'accept-ranges', 'x-content-type-options'].map((h) => [h, response.headers.get(h)]))).toEqual({
      'content-type': 'audio/wav',
      'content-length': String(bytes.length),
      'accept-ranges': 'bytes',
      'x-content-type-options': 'nosniff',
    });
    expect(response.headers.get('content-disposition')).toBe(
      `attachment; filename="bjork-joga-live-vocals.wav"; filename*=UTF-8''${encodeURIComponent('björk-jóga-live-東京-vocals.wav')}`,
    );
  });

  it('answers HEAD with the same headers and no body', async () => {
    const response = await fetch(link(stemId), { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe(String(bytes.length));
    expect(response.headers.get('content-type')).toBe('audio/wav');
    expect((await response.arrayBuffer()).byteLength).toBe(0);
  });

  it('serves single byte ranges (206), refuses one past the end (416), and sends the whole file for several ranges', async () => {
    const get = (range: string, extra: Record<string, string> = {}) => fetch(link(stemId), { headers: { range, ...extra } });

    const middle = await get('bytes=100-199');
    expect(middle.status).toBe(206);
    expect(middle.headers.get('content-range')).toBe(`bytes 100-199/${bytes.length}`);
    expect(middle.headers.get('content-length')).toBe('100');
    expect(Buffer.from(await middle.arrayBuffer())).toEqual(bytes.subarray(100, 200));

    const tail = await get('bytes=-50');
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer())).toEqual(bytes.subarray(bytes.length - 50));

    const rest = await get(`bytes=${bytes.length - 10}-`);
    expect(rest.headers.get('content-range')).toBe(`bytes ${bytes.length - 10}-${bytes.length - 1}/${bytes.length}`);
    expect(Buffer.from(await rest.arrayBuffer())).toEqual(bytes.subarray(bytes.length - 10));

    const past = await get(`bytes=${bytes.length}-`);
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe(`bytes */${bytes.length}`);

    const several = await get('bytes=0-1,5-6');
    expect(several.status).toBe(200);
    expect((await several.arrayBuffer()).byteLength).toBe(bytes.length);

    // If-Range naming another version of the file: the whole (current) file.
    const stale = await get('bytes=0-9', { 'if-range': '"not-this-version"' });
    expect(stale.status).toBe(200);
    await stale.arrayBuffer();
    const etag = (await fetch(link(stemId), { method: 'HEAD' })).headers.get('etag')!;
    const same = await get('bytes=0-9', { 'if-range': etag });
    expect(same.status).toBe(206);
    await same.arrayBuffer();
  });

  it('refuses a tampered, expired, unsigned or ambiguous link with 403', async () => {
    const good = link(stemId);
    const cases = {
      tampered: good.replace(/sig=([0-9a-f])/, (_, c: string) => `sig=${c === 'a' ? 'b' : 'a'}`),
      otherStem: good.replace(stemId, randomUUID()),
      laterExpiry: good.replace(/exp=(\d+)/, (_, e: string) => `exp=${Number(e) + 1}`),
      unsigned: good.replace(/&sig=.*$/, ''),
      twoExpiries: `${good}&exp=${hour()}`,
    };
    for (const [name, url] of Object.entries(cases)) {
      const response = await fetch(url);
      expect([name, response.status, await response.text()]).toEqual([name, 403, `${TEXT.invalid}\n`]);
    }
    const expired = await fetch(link(stemId, Math.floor(Date.now() / 1000) - 1));
    expect(expired.status).toBe(403);
    expect(await expired.text()).toBe(`${TEXT.expired}\n`);
  });

  it('answers 404 for an unknown stem, a vanished file and any other path', async () => {
    const unknown = await fetch(link(randomUUID()));
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toBe(`${TEXT.noSuchFile}\n`);

    const { stems } = await makeStemRows(orm.em.fork(), dataDir, 'Vanishing', [{ name: 'bass', seconds: 1 }]);
    await rm(stems[0]!.filePath);
    expect((await fetch(link(stems[0]!.id))).status).toBe(404);

    for (const p of ['/', '/files', `/files/${stemId}/extra`, `/other/files/${stemId}`]) {
      expect([p, (await fetch(`${server.url}${p}`)).status]).toEqual([p, 404]);
    }
  });

  it('never serves a file outside the data folder\'s stems/, whatever the row says', async () => {
    const outside = path.join(tempDir('outside'), 'secret.wav');
    await toneWav(outside, 1, 330);
    const { stems } = await makeStemRows(orm.em.fork(), dataDir, 'Escaping', [{ name: 'drums', seconds: 1 }]);
    await orm.em.fork().execute('update stems set file_path = ? where id = ?', [outside, stems[0]!.id]);
    const response = await fetch(link(stems[0]!.id));
    expect(response.status).toBe(404);
    expect(errors.at(-1)).toContain(`stem ${stems[0]!.id}'s file is outside`);
    rmSync(path.dirname(outside), { recursive: true, force: true });
  });

  it('never follows a symlink planted under stems/ out of it (a file or a folder link)', async () => {
    const outsideDir = tempDir('outside-link');
    const outside = path.join(outsideDir, 'secret.wav');
    await toneWav(outside, 1, 550);
    const { stems } = await makeStemRows(orm.em.fork(), dataDir, 'Linked', [{ name: 'drums', seconds: 1 }, { name: 'bass', seconds: 1 }]);
    // The row's path stays inside stems/; the file there is now a link to the secret.
    await rm(stems[0]!.filePath);
    await symlink(outside, stems[0]!.filePath);
    const viaFileLink = await fetch(link(stems[0]!.id));
    expect(viaFileLink.status).toBe(404);
    expect(await viaFileLink.text()).toBe(`${TEXT.noSuchFile}\n`);
    expect(errors.at(-1)).toContain(`stem ${stems[0]!.id}'s file is outside`);
    // A folder on the way that is a link out of stems/.
    const jobDir = path.dirname(stems[1]!.filePath);
    await rename(jobDir, `${jobDir}.moved`);
    await symlink(outsideDir, jobDir);
    await writeFile(path.join(outsideDir, path.basename(stems[1]!.filePath)), 'not for you');
    expect((await fetch(link(stems[1]!.id))).status).toBe(404);
    // A link that stays inside stems/ is still served.
    const { stems: inside } = await makeStemRows(orm.em.fork(), dataDir, 'Linked inside', [{ name: 'vocals', seconds: 1 }]);
    const real = `${inside[0]!.filePath}.real.wav`;
    await rename(inside[0]!.filePath, real);
    await symlink(real, inside[0]!.filePath);
    const ok = await fetch(link(inside[0]!.id));
    expect(ok.status).toBe(200);
    expect(sha(Buffer.from(await ok.arrayBuffer()))).toBe(sha(await readFile(real)));
    rmSync(outsideDir, { recursive: true, force: true });
  });

  it('accepts PUBLIC_BASE_URL\'s path prefix (a reverse proxy that keeps it)', async () => {
    const url = new URL(link(stemId, hour(), 'https://stems.example.org/sfa/'));
    expect(url.pathname).toBe(`/sfa/files/${stemId}`);
    const response = await fetch(`${server.url}${url.pathname}${url.search}`);
    expect(response.status).toBe(200);
    await response.arrayBuffer();
  });

  it('answers 405 to other methods', async () => {
    const response = await fetch(link(stemId), { method: 'POST', body: 'x' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
  });

  it('answers 503 (and logs) when the database cannot be reached', async () => {
    // Nothing listens on port 1: every query fails to connect, as when PostgreSQL is down.
    const unreachable = await createOrm('postgres://postgres@127.0.0.1:1/sfa');
    const logged: string[] = [];
    const other = await startFileServer({ host: '127.0.0.1', port: 0, secret: SECRET, lookup: stemLookup(unreachable), dataDir, log: { ...log, error: (m) => logged.push(m) } });
    try {
      const response = await fetch(signedUrl(other.url, SECRET, stemId, hour()));
      expect(response.status).toBe(503);
      expect(await response.text()).toBe(`${TEXT.unavailable}\n`);
      expect(logged).toHaveLength(1);
      expect(logged[0]).toContain(`looking up stem ${stemId} failed`);
    } finally {
      await other.close();
      await unreachable.close();
    }
  });

  it('says which address and port it could not listen on', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(startFileServer({ host: '127.0.0.1', port, secret: SECRET, lookup: stemLookup(orm), dataDir, log })).rejects.toThrow(
        `The file server could not listen on 127.0.0.1:${port} (EADDRINUSE). Set SFA_HTTP_PORT to a free port (0 picks one) or SFA_HTTP_HOST to an address of this machine.`,
      );
    } finally {
      blocker.close();
    }
  });
});

describe('link secret', () => {
  const quiet = () => {
    const lines: string[] = [];
    return { lines, info: (m: string) => lines.push(`info: ${m}`), warn: (m: string) => lines.push(`warn: ${m}`) };
  };

  it('uses SFA_LINK_SECRET when set, and writes nothing', async () => {
    const dir = tempDir('secret');
    const configured = new Secret('configured-secret-0123456789');
    const log = quiet();
    expect(await resolveLinkSecret({ configured, dataDir: dir, log })).toBe(configured);
    await expect(stat(path.join(dir, LINK_SECRET_FILE))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(log.lines).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('otherwise generates one, stores it with mode 0600, says so without showing it, and reuses it', async () => {
    const dir = path.join(tempDir('secret'), 'data');
    const log = quiet();
    const first = await resolveLinkSecret({ configured: undefined, dataDir: dir, log });
    const file = path.join(dir, LINK_SECRET_FILE);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readFile(file, 'utf8')).trim()).toBe(first.reveal());
    expect(first.reveal()).toMatch(/^[0-9a-f]{64}$/);
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toContain(`SFA_LINK_SECRET is not set: generated a link signing secret and stored it in ${file}`);
    expect(log.lines[0]).not.toContain(first.reveal());

    const again = await resolveLinkSecret({ configured: undefined, dataDir: dir, log });
    expect(again.reveal()).toBe(first.reveal());
    expect(log.lines).toHaveLength(1);

    // Two processes starting at once agree on one secret.
    const racing = path.join(dir, 'race');
    const both = await Promise.all([1, 2, 3].map(() => resolveLinkSecret({ configured: undefined, dataDir: racing, log: quiet() })));
    expect(new Set(both.map((s) => s.reveal())).size).toBe(1);
    rmSync(path.dirname(dir), { recursive: true, force: true });
  });

  it('refuses a stored secret that is too short, saying how to fix it', async () => {
    const dir = tempDir('secret');
    await writeFile(path.join(dir, LINK_SECRET_FILE), 'short\n', { mode: 0o600 });
    const error = await resolveLinkSecret({ configured: undefined, dataDir: dir, log: quiet() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LinkSecretError);
    expect((error as Error).message).toContain('does not hold a usable link secret (at least 16 characters, no spaces). Delete it to have a new one generated');
    rmSync(dir, { recursive: true, force: true });
  });

  it('warns when the stored secret is readable by others', async () => {
    const dir = tempDir('secret');
    await writeFile(path.join(dir, LINK_SECRET_FILE), 'a-long-enough-secret-value-here\n', { mode: 0o644 });
    const { chmod } = await import('node:fs/promises');
    await chmod(path.join(dir, LINK_SECRET_FILE), 0o644);
    const log = quiet();
    await resolveLinkSecret({ configured: undefined, dataDir: dir, log });
    expect(log.lines).toEqual([`warn: ${path.join(dir, LINK_SECRET_FILE)} can be read by other users (mode 644); run chmod 600 on it`]);
    rmSync(dir, { recursive: true, force: true });
  });
});
