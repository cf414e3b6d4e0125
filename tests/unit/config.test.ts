import { spawnSync } from 'node:child_process';
import { inspect } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  DEFAULTS,
  Secret,
  describeConfig,
  formatProblems,
  parseConfig,
  redactUrl,
  type Config,
} from '../../src/config.ts';

const OPTIONS = { cwd: '/srv/sfa', repoRoot: '/opt/stem-forge' };
const TOKEN = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.GabcDE.super-secret-token-value';
const SPOTIFY_SECRET = 'spotify-client-secret-0123456789abcdef';
const DB_PASSWORD = 'db-p4ssw0rd-xyz';

function ok(env: Record<string, string | undefined>): Config {
  const result = parseConfig(env, OPTIONS);
  if (!result.ok) throw new Error(`expected a valid config, got:\n${result.problems.join('\n')}`);
  return result.config;
}

function problems(env: Record<string, string | undefined>): string[] {
  const result = parseConfig(env, OPTIONS);
  if (result.ok) throw new Error('expected problems, got a valid config');
  return result.problems;
}

describe('parseConfig defaults', () => {
  it('needs nothing set and fills every default', () => {
    const config = ok({});
    expect(config).toMatchObject({
      databaseUrl: undefined,
      dataDir: '/srv/sfa/var',
      modelDir: '/srv/sfa/var/models',
      libraryDir: undefined,
      device: 'auto',
      python: '/opt/stem-forge/python/.venv/bin/python',
      discord: { token: undefined, apiBase: 'https://discord.com/api', guildId: undefined },
      spotify: {
        credentials: undefined,
        apiBase: 'https://api.spotify.com/v1',
        accountsBase: 'https://accounts.spotify.com',
        tokenUrl: 'https://accounts.spotify.com/api/token',
      },
      publicBaseUrl: undefined,
      httpPort: 8080,
      limits: { maxDurationSeconds: 1200, maxFileMb: 200, maxFileBytes: 200 * 1024 * 1024, userConcurrency: 2, userRequestsPerHour: 10, maxBatchTracks: 10 },
      logLevel: 'info',
    });
    expect(DEFAULTS.SFA_DATA_DIR).toBe('./var');
  });

  it('treats blank values as unset', () => {
    expect(ok({ SFA_DEVICE: '', SFA_HTTP_PORT: '  ', DISCORD_TOKEN: '' })).toMatchObject({ device: 'auto', httpPort: 8080 });
    expect(ok({ DISCORD_TOKEN: '' }).discord.token).toBeUndefined();
  });

  it('defaults the repo root to this checkout and the cwd to the process cwd', () => {
    const result = parseConfig({});
    const root = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
    expect(result.ok && result.config.python).toBe(`${root}/python/.venv/bin/python`);
    expect(result.ok && result.config.dataDir).toBe(`${process.cwd()}/var`);
  });

  it('freezes the config', () => {
    const config = ok({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.limits)).toBe(true);
  });
});

describe('parseConfig values', () => {
  it('reads every variable', () => {
    const config = ok({
      DATABASE_URL: `postgresql://sfa:${DB_PASSWORD}@db.internal:5432/sfa`,
      SFA_DATA_DIR: 'data',
      SFA_MODEL_DIR: '/models',
      SFA_LIBRARY_DIR: '~/Music',
      HOME: '/home/dj',
      SFA_DEVICE: 'CUDA',
      SFA_PYTHON: 'python3',
      DISCORD_TOKEN: ` ${TOKEN} `,
      DISCORD_API_BASE: 'http://127.0.0.1:4010/api/',
      DISCORD_GUILD_ID: '123456789012345678',
      SPOTIFY_CLIENT_ID: 'abc123',
      SPOTIFY_CLIENT_SECRET: SPOTIFY_SECRET,
      SPOTIFY_API_BASE: 'http://127.0.0.1:4011/v1',
      SPOTIFY_ACCOUNTS_BASE: 'http://127.0.0.1:4012',
      PUBLIC_BASE_URL: 'https://stems.example.org/',
      SFA_MAX_DURATION_SECONDS: '600',
      SFA_MAX_FILE_MB: '50',
      SFA_USER_CONCURRENCY: '1',
      SFA_USER_REQUESTS_PER_HOUR: '30',
      SFA_MAX_BATCH_TRACKS: '25',
      SFA_ALLOWED_PRIVATE_ADDRESSES: '192.168.1.10, 10.0.0.0/8',
      SFA_HTTP_PORT: '0',
      LOG_LEVEL: 'debug',
    });
    expect(config.databaseUrl?.reveal()).toBe(`postgresql://sfa:${DB_PASSWORD}@db.internal:5432/sfa`);
    expect(config.dataDir).toBe('/srv/sfa/data');
    expect(config.modelDir).toBe('/models');
    expect(config.libraryDir).toBe('/home/dj/Music');
    expect(config.device).toBe('cuda');
    expect(config.python).toBe('python3');
    expect(config.discord.token?.reveal()).toBe(TOKEN);
    expect(config.discord.apiBase).toBe('http://127.0.0.1:4010/api');
    expect(config.discord.guildId).toBe('123456789012345678');
    expect(config.spotify.credentials?.clientId).toBe('abc123');
    expect(config.spotify.credentials?.clientSecret.reveal()).toBe(SPOTIFY_SECRET);
    expect(config.spotify.tokenUrl).toBe('http://127.0.0.1:4012/api/token');
    expect(config.spotify.apiBase).toBe('http://127.0.0.1:4011/v1');
    expect(config.publicBaseUrl).toBe('https://stems.example.org');
    const { allowedPrivateRanges, ...limits } = config.limits;
    expect(limits).toEqual({ maxDurationSeconds: 600, maxFileMb: 50, maxFileBytes: 50 * 1024 * 1024, userConcurrency: 1, userRequestsPerHour: 30, maxBatchTracks: 25 });
    expect(allowedPrivateRanges.map(([ip, bits]) => `${ip.toString()}/${bits}`)).toEqual(['192.168.1.10/32', '10.0.0.0/8']);
    expect(config.httpPort).toBe(0);
    expect(config.logLevel).toBe('debug');
  });

  it('puts the model dir under a custom data dir', () => {
    expect(ok({ SFA_DATA_DIR: '/data' }).modelDir).toBe('/data/models');
  });

  it('resolves a relative SFA_PYTHON path', () => {
    expect(ok({ SFA_PYTHON: './venv/bin/python' }).python).toBe('/srv/sfa/venv/bin/python');
  });

  it('accepts postgres:// and socket-style URLs', () => {
    expect(ok({ DATABASE_URL: 'postgres://localhost/sfa' }).databaseUrl).toBeInstanceOf(Secret);
    expect(ok({ DATABASE_URL: 'postgres:///sfa?host=/var/run/postgresql' }).databaseUrl).toBeDefined();
  });
});

describe('parseConfig problems', () => {
  it.each([
    ['DATABASE_URL', 'mysql://root@localhost/sfa', 'DATABASE_URL: expected a postgres:// or postgresql:// URL (got a mysql: URL)'],
    ['DATABASE_URL', 'localhost:5432', 'DATABASE_URL: expected a postgres:// or postgresql:// URL'],
    ['DATABASE_URL', 'postgres://u:p@[bad/db', 'DATABASE_URL: expected a valid postgres:// URL'],
    ['SFA_DEVICE', 'gpu', 'SFA_DEVICE: expected one of auto, cpu, cuda (got "gpu")'],
    ['DISCORD_TOKEN', 'Bot abc.def.ghi', 'DISCORD_TOKEN: expected the bare bot token, without the "Bot " prefix'],
    ['DISCORD_TOKEN', 'abc def', 'DISCORD_TOKEN: expected a bot token without spaces'],
    ['DISCORD_API_BASE', 'discord.com/api', 'DISCORD_API_BASE: expected an http:// or https:// URL (got "discord.com/api")'],
    ['DISCORD_API_BASE', 'ftp://discord.com/api', 'DISCORD_API_BASE: expected an http:// or https:// URL'],
    ['DISCORD_GUILD_ID', '1234', 'DISCORD_GUILD_ID: expected a Discord server id (a snowflake, 17 to 20 digits) (got "1234")'],
    ['DISCORD_GUILD_ID', '123456789012345678901', 'DISCORD_GUILD_ID: expected a Discord server id'],
    ['SPOTIFY_API_BASE', 'https://api.spotify.com/v1?x=1', 'SPOTIFY_API_BASE: expected a base URL without ?query or #fragment'],
    ['SPOTIFY_ACCOUNTS_BASE', 'https://user:pw@accounts.spotify.com', 'SPOTIFY_ACCOUNTS_BASE: expected a URL without a user name or password in it'],
    ['PUBLIC_BASE_URL', 'javascript:alert(1)', 'PUBLIC_BASE_URL: expected an http:// or https:// URL'],
    ['SFA_MAX_DURATION_SECONDS', '20m', 'SFA_MAX_DURATION_SECONDS: expected the longest track to accept in seconds, a whole number from 1 to 86400 (got "20m")'],
    ['SFA_MAX_DURATION_SECONDS', '0', 'SFA_MAX_DURATION_SECONDS: expected the longest track'],
    ['SFA_MAX_FILE_MB', '1.5', 'SFA_MAX_FILE_MB: expected the largest download to accept in MB, a whole number from 1 to 100000 (got "1.5")'],
    ['SFA_MAX_FILE_MB', '-5', 'SFA_MAX_FILE_MB: expected'],
    ['SFA_USER_CONCURRENCY', '0', 'SFA_USER_CONCURRENCY: expected how many requests one user may have in progress, a whole number from 1 to 100 (got "0")'],
    ['SFA_USER_REQUESTS_PER_HOUR', '0', 'SFA_USER_REQUESTS_PER_HOUR: expected how many tracks one user may ask for per hour (commands and reactions), a whole number from 1 to 10000 (got "0")'],
    ['SFA_MAX_BATCH_TRACKS', '0', 'SFA_MAX_BATCH_TRACKS: expected the most tracks of an album or playlist one request runs, a whole number from 1 to 10000 (got "0")'],
    ['SFA_HTTP_PORT', '65536', 'SFA_HTTP_PORT: expected a TCP port (0 picks a free one), a whole number from 0 to 65535 (got "65536")'],
    ['SFA_HTTP_PORT', '0x50', 'SFA_HTTP_PORT: expected a TCP port'],
    ['SFA_HTTP_PORT', '1e3', 'SFA_HTTP_PORT: expected a TCP port'],
    ['LOG_LEVEL', 'verbose', 'LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent (got "verbose")'],
    ['SFA_DATA_DIR', 'a\0b', 'SFA_DATA_DIR: expected a path without NUL characters'],
  ])('%s=%j', (name, value, message) => {
    const found = problems({ [name]: value });
    expect(found).toHaveLength(1);
    expect(found[0]!.startsWith(message)).toBe(true);
  });

  it('requires Spotify client id and secret together', () => {
    expect(problems({ SPOTIFY_CLIENT_ID: 'abc' })).toEqual([
      'SPOTIFY_CLIENT_SECRET: expected SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET to be set together (only SPOTIFY_CLIENT_ID is set)',
    ]);
    const onlySecret = problems({ SPOTIFY_CLIENT_SECRET: SPOTIFY_SECRET });
    expect(onlySecret).toEqual([
      'SPOTIFY_CLIENT_ID: expected SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET to be set together (only SPOTIFY_CLIENT_SECRET is set)',
    ]);
  });

  it('reports several bad values together, one line each, in variable order', () => {
    const found = problems({
      SFA_DEVICE: 'gpu',
      SFA_HTTP_PORT: 'eighty',
      LOG_LEVEL: 'loud',
      DISCORD_GUILD_ID: 'x',
      SPOTIFY_CLIENT_ID: 'abc',
    });
    expect(found.map((p) => p.split(':')[0])).toEqual([
      'SFA_DEVICE',
      'DISCORD_GUILD_ID',
      'SFA_HTTP_PORT',
      'LOG_LEVEL',
      'SPOTIFY_CLIENT_SECRET',
    ]);
    for (const p of found) expect(p).not.toContain('\n');
  });

  it('SFA_ALLOWED_PRIVATE_ADDRESSES takes addresses and CIDR ranges only, and names the bad entry', () => {
    expect(problems({ SFA_ALLOWED_PRIVATE_ADDRESSES: '10.0.0.0/8,nas.lan' })).toEqual([
      'SFA_ALLOWED_PRIVATE_ADDRESSES: expected comma-separated IP addresses or CIDR ranges, e.g. 192.168.1.10,10.0.0.0/8 (got "nas.lan")',
    ]);
  });

  it('describeConfig says which private addresses links may reach', () => {
    const open = parseConfig({ SFA_ALLOWED_PRIVATE_ADDRESSES: '192.168.1.10' });
    const closed = parseConfig({});
    if (!open.ok || !closed.ok) throw new Error('bad config');
    expect(describeConfig(open.config)).toMatch(/private addresses\s+links may reach 192\.168\.1\.10\/32/);
    expect(describeConfig(closed.config)).toMatch(/private addresses\s+none for chat links \(public addresses only\)/);
  });

  it('clips long values in messages', () => {
    const [message] = problems({ LOG_LEVEL: 'x'.repeat(500) });
    expect(message!.length).toBeLessThan(200);
  });
});

describe('secrets', () => {
  const env = {
    DATABASE_URL: `postgres://sfa:${DB_PASSWORD}@db:5432/sfa?sslmode=require`,
    DISCORD_TOKEN: TOKEN,
    SPOTIFY_CLIENT_ID: 'abc123',
    SPOTIFY_CLIENT_SECRET: SPOTIFY_SECRET,
  };
  const leaks = (text: string) => [TOKEN, SPOTIFY_SECRET, DB_PASSWORD].filter((s) => text.includes(s));

  it('never appear in problem messages', () => {
    const found = problems({
      DISCORD_TOKEN: `Bot ${TOKEN}`,
      SPOTIFY_CLIENT_SECRET: `${SPOTIFY_SECRET} trailing words`,
      DATABASE_URL: `mysql://sfa:${DB_PASSWORD}@db/sfa`,
      PUBLIC_BASE_URL: `https://sfa:${DB_PASSWORD}@example.org`,
    });
    expect(found).toHaveLength(5);
    expect(leaks(found.join('\n'))).toEqual([]);
  });

  it('never appear in describeConfig', () => {
    const text = describeConfig(ok(env));
    expect(leaks(text)).toEqual([]);
    expect(text).toContain('postgres://sfa:***@db:5432/sfa?sslmode=require');
    expect(text).toMatch(/discord token\s+set \(redacted\)/);
    expect(text).toMatch(/spotify credentials\s+client id abc123, secret set \(redacted\)/);
    expect(describeConfig(ok({}))).toMatch(/database\s+embedded PostgreSQL/);
  });

  it('never appear when the config is logged, inspected or serialised', () => {
    const config = ok(env);
    expect(leaks(inspect(config, { depth: 10 }))).toEqual([]);
    expect(leaks(JSON.stringify(config))).toEqual([]);
    expect(leaks(`${config.discord.token}`)).toEqual([]);
    expect(String(config.spotify.credentials?.clientSecret)).toBe('[redacted]');
  });

  it('redactUrl hides passwords in the authority and in parameters', () => {
    expect(redactUrl('postgres://u:pw@h/db?password=pw2&sslmode=require')).toBe('postgres://u:***@h/db?password=***&sslmode=require');
    expect(redactUrl('postgres://u@h/db')).toBe('postgres://u@h/db');
    expect(redactUrl('not a url')).toBe('[unparseable URL, redacted]');
  });
});

describe('formatProblems', () => {
  it('is one message, one line per problem', () => {
    expect(formatProblems(['A: x', 'B: y'])).toBe('stem-forge: invalid configuration (2 problems):\n  A: x\n  B: y\n');
    expect(formatProblems(['A: x'])).toMatch(/\(1 problem\)/);
  });
});

describe('loadConfigOrExit', () => {
  it('prints every problem to stderr and exits with code 2', () => {
    const configUrl = new URL('../../src/config.ts', import.meta.url).href;
    const script = `import(${JSON.stringify(configUrl)}).then((m) => { m.loadConfigOrExit(); console.log('not reached'); });`;
    const child = spawnSync(process.execPath, ['-e', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: { PATH: process.env.PATH, SFA_DEVICE: 'gpu', SFA_HTTP_PORT: 'http', DISCORD_TOKEN: `Bot ${TOKEN}` },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(child.status).toBe(2);
    expect(child.stdout).toBe('');
    expect(child.stderr).toBe(
      'stem-forge: invalid configuration (3 problems):\n' +
        '  SFA_DEVICE: expected one of auto, cpu, cuda (got "gpu")\n' +
        '  DISCORD_TOKEN: expected the bare bot token, without the "Bot " prefix\n' +
        '  SFA_HTTP_PORT: expected a TCP port (0 picks a free one), a whole number from 0 to 65535 (got "http")\n',
    );
  });

  it('returns the config when the environment is valid', async () => {
    const { loadConfigOrExit } = await import('../../src/config.ts');
    expect(loadConfigOrExit({ SFA_DEVICE: 'cpu' }, OPTIONS).device).toBe('cpu');
  });
});

describe('model downloads (SFA_MODEL_BASE_URL, SFA_MODEL_DOWNLOAD)', () => {
  it("default to demucs' own server and fetching on first use", () => {
    const result = parseConfig({});
    expect(result.ok && [result.config.modelBaseUrl, result.config.modelDownload]).toEqual([undefined, 'auto']);
  });

  it('take a mirror without a trailing slash and never', () => {
    const result = parseConfig({ SFA_MODEL_BASE_URL: 'https://mirror.example.org/demucs/', SFA_MODEL_DOWNLOAD: 'NEVER' });
    expect(result.ok && [result.config.modelBaseUrl, result.config.modelDownload]).toEqual(['https://mirror.example.org/demucs', 'never']);
  });

  it('refuse anything else, naming the variable', () => {
    const result = parseConfig({ SFA_MODEL_BASE_URL: 'ftp://mirror', SFA_MODEL_DOWNLOAD: 'sometimes' });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems).toEqual([
      'SFA_MODEL_BASE_URL: expected an http:// or https:// URL (got "ftp://mirror")',
      'SFA_MODEL_DOWNLOAD: expected one of auto, never (got "sometimes")',
    ]);
  });
});
