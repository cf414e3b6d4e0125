/**
 * Hostile links against the direct-URL downloader, as a chat member would send
 * them (no permission for private addresses). Names are resolved through an
 * injected resolver (no /etc/hosts): `*.internal.test` resolve to 127.0.0.1,
 * `lan.test` to 127.0.0.2 which the "admin" opened (as SFA_ALLOWED_PRIVATE_ADDRESSES
 * would), so a reachable "public" first hop exists for redirect chains.
 * Each case asserts what the user reads and that no file is left behind, and
 * for refused targets that the server behind them never saw a request.
 */
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LookupAddress } from 'node:dns';
import { downloadDirectUrl, type DirectUrlOptions } from '../../src/jobs/download/directUrl.ts';
import { PRIVATE_ADDRESS_MESSAGE } from '../../src/jobs/download/addressGuard.ts';
import { UserFacingError } from '../../src/jobs/download/errors.ts';
import { parseIpRanges } from '../../src/domain/networkAddress.ts';
import { makeTempDir, makeTone } from '../download/helpers.ts';
import { closedPortUrl } from '../support/fakeHttp.ts';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let song: Buffer;
/** The "secret" service on 127.0.0.1: no case may ever reach it. */
let secret: { server: Server; port: number; hits: string[] };
/** The admin-opened LAN server on 127.0.0.2, same port. */
let lan: { server: Server; hits: string[] };
let n = 0;

const allowed = parseIpRanges('127.0.0.2');
if (!allowed.ok) throw new Error('bad range');

const resolverCalls: string[] = [];
let rebind: LookupAddress[][] = [];
async function resolve(name: string): Promise<LookupAddress[]> {
  resolverCalls.push(name);
  if (name === 'rebind.test') return rebind.shift() ?? [{ address: '127.0.0.1', family: 4 }];
  if (name === 'lan.test') return [{ address: '127.0.0.2', family: 4 }];
  if (name === 'mixed.test') return [{ address: '8.8.8.8', family: 4 }, { address: '127.0.0.1', family: 4 }];
  if (name === 'v6.internal.test') return [{ address: '::1', family: 6 }];
  if (name === 'ten.test') return [{ address: '10.0.0.5', family: 4 }];
  if (name === 'mapped.test') return [{ address: '::ffff:127.0.0.1', family: 6 }];
  if (name.endsWith('.internal.test')) return [{ address: '127.0.0.1', family: 4 }];
  throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
}

const opts = (extra: Partial<DirectUrlOptions> = {}): DirectUrlOptions => ({
  maxFileMb: 5,
  connectTimeoutMs: 3000,
  allowedRanges: allowed.ranges,
  resolve,
  ...extra,
});

async function outDir(): Promise<string> {
  const d = path.join(tmp.dir, `out${++n}`);
  await mkdir(d);
  return d;
}

/** Runs a download expected to fail; returns the user's message after checking nothing was left in its folder. */
async function refusal(url: string, extra: Partial<DirectUrlOptions> = {}): Promise<UserFacingError> {
  const dir = await outDir();
  const error = await downloadDirectUrl(url, dir, opts(extra)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `${url} must be refused`).toBeInstanceOf(UserFacingError);
  expect(await readdir(dir)).toEqual([]);
  return error as UserFacingError;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

beforeAll(async () => {
  tmp = await makeTempDir('sfa-hostile-');
  song = await readFile(await makeTone(path.join(tmp.dir, 'song.mp3'), 3));
  const secretHits: string[] = [];
  const secretServer = createServer((req, res) => {
    secretHits.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'audio/mpeg' });
    res.end(song);
  });
  const lanHits: string[] = [];
  const lanServer = createServer((req, res) => {
    lanHits.push(req.url ?? '');
    const u = new URL(req.url ?? '/', 'http://x');
    const to = u.searchParams.get('to');
    if (u.pathname === '/redirect' && to) {
      res.writeHead(302, { location: to });
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'audio/mpeg', 'content-length': String(song.length) });
    res.end(song);
  });
  // Both on one port: a connection pinned to the checked address reaches the LAN server, an unpinned one the secret.
  for (let attempt = 0; ; attempt++) {
    const port = await listen(secretServer, 0, '127.0.0.1');
    try {
      await listen(lanServer, port, '127.0.0.2');
      secret = { server: secretServer, port, hits: secretHits };
      lan = { server: lanServer, hits: lanHits };
      break;
    } catch (error) {
      await new Promise<void>((r) => secretServer.close(() => r()));
      if (attempt > 5) throw error;
    }
  }
});

afterAll(async () => {
  for (const s of [secret?.server, lan?.server]) {
    s?.closeAllConnections();
    await new Promise<void>((r) => (s ? s.close(() => r()) : r()));
  }
  await tmp.cleanup();
});

describe('address forms that mean this machine or a private network are refused with one message', () => {
  const literal = (host: string) => `http://${host}:${secret?.port ?? 80}/song.mp3`;
  const forms = [
    '[::127.0.0.1]',
    '[::7f00:1]',
    '[64:ff9b::7f00:1]',
    '[64:ff9b::a00:1]',
    '[fec0::1]',
    '[fe90::1]',
    '[fe80::1]',
    '[fc00::1]',
    '[::1]',
    '[::]',
    '[::ffff:127.0.0.1]',
    '[0:0:0:0:0:ffff:7f00:1]',
    '[2002:7f00:1::1]',
    '[2001:0:4136:e378:8000:63bf:80ff:fffe]',
    'localhost',
    'localhost.',
    'LOCALHOST..',
    'sub.localhost',
    '127.0.0.1',
    '127.1',
    '2130706433',
    '0x7f.1',
    '0x7f000001',
    '0177.0.0.1',
    '017700000001',
    '0.0.0.0',
    '198.18.0.1',
    '224.0.0.1',
    '255.255.255.255',
    '100.64.0.1',
    '169.254.169.254',
    '10.0.0.1',
    '192.168.0.1',
    '172.16.0.1',
  ];
  it.each(forms)('http://%s/', async (host) => {
    const error = await refusal(literal(host));
    expect(error.userMessage).toBe(PRIVATE_ADDRESS_MESSAGE);
    expect(secret.hits).toEqual([]);
  });

  it('user-info tricks: credentials in a link are refused; the real host is what counts', async () => {
    expect((await refusal(`http://music.example.com@127.0.0.1:${secret.port}/song.mp3`)).userMessage).toMatch(/user name or password/);
    expect((await refusal(`http://music.example.com:pw@localhost:${secret.port}/`)).userMessage).toMatch(/user name or password/);
    expect((await refusal(`http://127.0.0.1:${secret.port}#@music.example.com/song.mp3`)).userMessage).toBe(PRIVATE_ADDRESS_MESSAGE);
    expect((await refusal(`http://127.0.0.1:${secret.port}?@music.example.com/song.mp3`)).userMessage).toBe(PRIVATE_ADDRESS_MESSAGE);
    expect(secret.hits).toEqual([]);
  });
});

describe('names are resolved, every address checked, and the connection pinned', () => {
  it.each([
    ['a name resolving to 127.0.0.1', 'http://music.internal.test:PORT/song.mp3'],
    ['the same name with a trailing dot', 'http://music.internal.test.:PORT/song.mp3'],
    ['a name resolving to ::1', 'http://v6.internal.test:PORT/song.mp3'],
    ['a name resolving to 10.0.0.5', 'http://ten.test:PORT/song.mp3'],
    ['a name resolving to an IPv4-mapped loopback', 'http://mapped.test:PORT/song.mp3'],
    ['a name with one public and one private address', 'http://mixed.test:PORT/song.mp3'],
  ])('%s is refused, nothing reached', async (_what, url) => {
    const error = await refusal(url.replace('PORT', String(secret.port)));
    expect(error.userMessage).toBe(PRIVATE_ADDRESS_MESSAGE);
    expect(secret.hits).toEqual([]);
  });

  it('a refused name and a closed port on it read the same: nothing tells what listens there', async () => {
    const open = await refusal(`http://music.internal.test:${secret.port}/song.mp3`);
    const closedPort = new URL(await closedPortUrl()).port;
    const closed = await refusal(`http://music.internal.test:${closedPort}/song.mp3`);
    const page = await refusal(`http://music.internal.test:${secret.port}/index.html`);
    expect(new Set([open.userMessage, closed.userMessage, page.userMessage])).toEqual(new Set([PRIVATE_ADDRESS_MESSAGE]));
  });

  it('an admin-opened address is fetched (the allowance works, so the refusals above are the guard)', async () => {
    const got = await downloadDirectUrl(`http://lan.test:${secret.port}/song.mp3`, await outDir(), opts());
    expect(got.bytes).toBe(song.length);
  });

  it('DNS rebinding: the first answer is checked and used; a second, private answer is never asked for nor used', async () => {
    rebind = [[{ address: '127.0.0.2', family: 4 }], [{ address: '127.0.0.1', family: 4 }]];
    resolverCalls.length = 0;
    const lanBefore = lan.hits.length;
    const got = await downloadDirectUrl(`http://rebind.test:${secret.port}/song.mp3`, await outDir(), opts());
    expect(got.bytes).toBe(song.length);
    expect(resolverCalls.filter((c) => c === 'rebind.test')).toHaveLength(1);
    expect(lan.hits.length).toBe(lanBefore + 1);
    expect(secret.hits).toEqual([]);
    rebind = [];
  });
});

describe('redirect chains are checked at every hop', () => {
  const via = (to: string) => `http://lan.test:${secret.port}/redirect?to=${encodeURIComponent(to)}`;
  it.each([
    ['a public (opened) host redirecting to 127.0.0.1', () => `http://127.0.0.1:${secret.port}/song.mp3`],
    ['a redirect to a name resolving privately', () => `http://music.internal.test:${secret.port}/song.mp3`],
    ['a redirect to [::ffff:7f00:1]', () => `http://[::ffff:7f00:1]:${secret.port}/song.mp3`],
    ['a redirect to localhost.', () => `http://localhost.:${secret.port}/song.mp3`],
    ['a two-hop chain ending private', () => via(`http://2130706433:${secret.port}/song.mp3`)],
  ])('%s is refused', async (_what, to) => {
    const error = await refusal(via(to()));
    expect(error.userMessage).toBe(PRIVATE_ADDRESS_MESSAGE);
    expect(secret.hits).toEqual([]);
  });

  it('a redirect to another scheme is refused', async () => {
    expect((await refusal(via('file:///etc/passwd'))).userMessage).toMatch(/Only http\(s\) links/);
    expect((await refusal(via('gopher://127.0.0.1:70/'))).userMessage).toMatch(/Only http\(s\) links/);
  });

  it('an endless redirect loop stops with a clear message', async () => {
    let loop = `http://lan.test:${secret.port}/song.mp3`;
    for (let i = 0; i < 7; i++) loop = via(loop);
    expect((await refusal(loop)).userMessage).toMatch(/redirected too many times/);
  });
});
