/**
 * Process configuration from environment variables (every one in the README's tables).
 *
 * parseConfig is pure (cwd and repo root are parameters) and reports every
 * problem at once, so a misconfigured deployment is fixed in one round trip.
 * Secrets are wrapped in Secret so logging a config object cannot leak them,
 * and no problem message ever echoes a secret's value.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isIP } from 'node:net';
import { z } from 'zod';
import { MIN_SECRET_LENGTH } from './domain/signedLink.ts';
import { parseIpRanges, type IpRange } from './domain/networkAddress.ts';

export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  /** The only way to get the value; grep for it when auditing. */
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'Secret([redacted])';
  }
}

export const DEVICES = ['auto', 'cpu', 'cuda'] as const;
export type Device = (typeof DEVICES)[number];
export const MODEL_DOWNLOADS = ['auto', 'never'] as const;
export type ModelDownload = (typeof MODEL_DOWNLOADS)[number];
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  /** Unset: the database role starts embedded PostgreSQL under dataDir. */
  readonly databaseUrl: Secret | undefined;
  readonly dataDir: string;
  readonly modelDir: string;
  /** SFA_MODEL_BASE_URL: a mirror in demucs' download layout; unset: demucs' own root. */
  readonly modelBaseUrl: string | undefined;
  /** SFA_MODEL_DOWNLOAD: a worker fetches a missing model before separating (auto) or fails (never). */
  readonly modelDownload: ModelDownload;
  readonly libraryDir: string | undefined;
  readonly device: Device;
  /** Python interpreter for the engine: an absolute path, or a bare command looked up on PATH. */
  readonly python: string;
  readonly discord: {
    /** Optional here; the bot role checks it is set. */
    readonly token: Secret | undefined;
    readonly apiBase: string;
    readonly guildId: string | undefined;
  };
  readonly spotify: {
    readonly credentials: { readonly clientId: string; readonly clientSecret: Secret } | undefined;
    readonly apiBase: string;
    readonly accountsBase: string;
    /** Client-credentials token endpoint: `<accounts base>/api/token`. */
    readonly tokenUrl: string;
  };
  readonly publicBaseUrl: string | undefined;
  /** The bot's file server (src/bot/files): address and port to listen on. */
  readonly httpHost: string;
  readonly httpPort: number;
  /** Signs file links; unset: generated once under dataDir (src/bot/files/secret.ts). */
  readonly linkSecret: Secret | undefined;
  /** How long a stem player link stays valid (SFA_PLAYER_LINK_DAYS). */
  readonly playerLinkDays: number;
  readonly limits: {
    readonly maxDurationSeconds: number;
    readonly maxFileMb: number;
    /** maxFileMb in bytes (MiB, 1024 * 1024). */
    readonly maxFileBytes: number;
    readonly userConcurrency: number;
    /** Re-processing asked for by reaction: at most this many requests per user in the last hour. */
    readonly userRequestsPerHour: number;
    /** Most tracks of an album or playlist one request runs (SFA_MAX_BATCH_TRACKS; the CLI's --limit overrides it). */
    readonly maxBatchTracks: number;
    /**
     * SFA_ALLOWED_PRIVATE_ADDRESSES: private addresses (CIDR ranges) links of anyone may reach, e.g. the
     * self-hoster's own LAN server. Empty by default: links reach public addresses only.
     */
    readonly allowedPrivateRanges: readonly IpRange[];
  };
  /** Lost-work detection (src/jobs/workers/reaper.ts). */
  readonly recovery: {
    /** A running job touches its row this often, even when progress does not move. */
    readonly heartbeatSeconds: number;
    /** A running row whose heartbeat is older than this is taken for lost and retried as a new row. */
    readonly staleAfterSeconds: number;
    /** How often each worker process looks for lost or stranded rows; 0: this process runs no reaper. */
    readonly reaperIntervalSeconds: number;
  };
  /** The bot's request handling (src/bot). */
  readonly bot: {
    /** SFA_REACTION_WINDOW_SECONDS in ms: how long the requester of a /separate without `model:` may react to choose it (0: the default model at once). */
    readonly reactionWindowMs: number;
    /**
     * SFA_DISCORD_CDN_BASES: the only bases (origin + path ending in "/") the bot fetches a user's attached
     * file from; Discord's CDN hosts by default. Deliberately a list of exact bases, not a switch for private hosts.
     */
    readonly trustedAttachmentBases: readonly string[];
  };
  readonly logLevel: LogLevel;
  /** SFA_VERBOSE (any value): `sfa separate`/`analyze` print the workers' log lines. */
  readonly verbose: boolean;
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

export interface ConfigOptions {
  /** Relative paths resolve against this; default process.cwd(). */
  cwd?: string;
  /** Where `python/.venv` lives; default the checkout this file is in. */
  repoRoot?: string;
}

export const DEFAULTS = {
  SFA_DATA_DIR: './var',
  SFA_DEVICE: 'auto',
  SFA_MODEL_DOWNLOAD: 'auto',
  DISCORD_API_BASE: 'https://discord.com/api',
  SPOTIFY_API_BASE: 'https://api.spotify.com/v1',
  SPOTIFY_ACCOUNTS_BASE: 'https://accounts.spotify.com',
  SFA_MAX_DURATION_SECONDS: 1200,
  SFA_MAX_FILE_MB: 200,
  SFA_USER_CONCURRENCY: 2,
  SFA_USER_REQUESTS_PER_HOUR: 10,
  SFA_MAX_BATCH_TRACKS: 10,
  SFA_HTTP_PORT: 8080,
  SFA_PLAYER_LINK_DAYS: 7,
  SFA_HTTP_HOST: '127.0.0.1',
  SFA_HEARTBEAT_SECONDS: 5,
  SFA_STALE_AFTER_SECONDS: 180,
  SFA_REAPER_INTERVAL_SECONDS: 30,
  SFA_REACTION_WINDOW_SECONDS: 20,
  SFA_DISCORD_CDN_BASES: ['https://cdn.discordapp.com/', 'https://media.discordapp.net/'],
  LOG_LEVEL: 'info',
} as const;

/** Never echoed in problem messages nor shown by describeConfig. */
export const SECRET_VARIABLES = ['DISCORD_TOKEN', 'SPOTIFY_CLIENT_SECRET', 'DATABASE_URL', 'SFA_LINK_SECRET'] as const;

class Invalid {
  readonly message: string;
  constructor(message: string) {
    this.message = message;
  }
}

/** Quotes a non-secret value for a problem message, clipped so one bad value can't flood the output. */
function got(value: string): string {
  const clipped = value.length > 60 ? `${value.slice(0, 60)}…` : value;
  return ` (got ${JSON.stringify(clipped)})`;
}

/** An optional variable: blank counts as unset (compose files often write `FOO=`). */
function variable<T>(parse: (value: string) => T | Invalid) {
  return z
    .string()
    .optional()
    .transform((raw, ctx): T | undefined => {
      const value = raw?.trim();
      if (!value) return undefined;
      const out = parse(value);
      if (out instanceof Invalid) {
        ctx.addIssue({ code: 'custom', message: out.message });
        return z.NEVER;
      }
      return out;
    });
}

const integer = (min: number, max: number, what: string) =>
  variable((v) => {
    const n = /^\d+$/.test(v) ? Number(v) : Number.NaN;
    return n >= min && n <= max ? n : new Invalid(`expected ${what}, a whole number from ${min} to ${max}${got(v)}`);
  });

const oneOf = <T extends string>(values: readonly T[]) =>
  variable((v) => {
    const lower = v.toLowerCase();
    return (values as readonly string[]).includes(lower) ? (lower as T) : new Invalid(`expected one of ${values.join(', ')}${got(v)}`);
  });

/** A base URL: http(s), no credentials, query or fragment. */
function httpBase(v: string): URL | Invalid {
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return new Invalid(`expected an http:// or https:// URL${got(v)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return new Invalid(`expected an http:// or https:// URL${got(v)}`);
  // Not echoed: a URL with credentials in it is a secret.
  if (url.username || url.password) return new Invalid('expected a URL without a user name or password in it');
  if (url.search || url.hash) return new Invalid(`expected a base URL without ?query or #fragment${got(v)}`);
  return url;
}

/** A base URL that paths get appended to; trailing "/" dropped. */
const baseUrl = variable((v) => {
  const url = httpBase(v);
  return url instanceof Invalid ? url : url.href.replace(/\/+$/, '');
});

/** Comma-separated base URLs that others are matched against by prefix; each ends in "/". */
const baseUrlList = variable((v) => {
  const bases: string[] = [];
  for (const part of v.split(',').map((p) => p.trim()).filter(Boolean)) {
    const url = httpBase(part);
    if (url instanceof Invalid) return url;
    bases.push(url.href.endsWith('/') ? url.href : `${url.href}/`);
  }
  return bases.length > 0 ? bases : new Invalid(`expected comma-separated http:// or https:// base URLs${got(v)}`);
});

/** Seconds, fractions allowed. */
const seconds = (max: number, what: string) =>
  variable((v) => {
    const n = /^\d+(\.\d+)?$/.test(v) ? Number(v) : Number.NaN;
    return n <= max ? n : new Invalid(`expected seconds from 0 to ${max}, ${what}${got(v)}`);
  });

/** A path; `~/` expands with HOME because .env files and systemd units don't do it. */
const pathVar = (home: string | undefined) =>
  variable((v) => {
    if (v.includes('\0')) return new Invalid('expected a path without NUL characters');
    if (home && (v === '~' || v.startsWith('~/'))) return path.join(home, v.slice(1));
    return v;
  });

const databaseUrl = variable((v) => {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(v)?.[1]?.toLowerCase();
  const shown = scheme ? ` (got a ${scheme}: URL)` : '';
  if (scheme !== 'postgres' && scheme !== 'postgresql') return new Invalid(`expected a postgres:// or postgresql:// URL${shown}`);
  try {
    new URL(v);
  } catch {
    return new Invalid('expected a valid postgres:// URL (it could not be parsed; check that special characters in the password are percent-encoded)');
  }
  return new Secret(v);
});

const discordToken = variable((v) => {
  if (/^bot\s/i.test(v)) return new Invalid('expected the bare bot token, without the "Bot " prefix');
  if (/\s/.test(v)) return new Invalid('expected a bot token without spaces');
  return new Secret(v);
});

/** An IP address or a host name to listen on. */
const listenHost = variable((v) =>
  isIP(v) !== 0 || /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(v)
    ? v
    : new Invalid(`expected an IP address or host name to listen on, e.g. 127.0.0.1 or 0.0.0.0${got(v)}`),
);

const ipRangeList = variable((v) => {
  const parsed = parseIpRanges(v);
  return parsed.ok ? parsed.ranges : new Invalid(`expected comma-separated IP addresses or CIDR ranges, e.g. 192.168.1.10,10.0.0.0/8${got(parsed.entry)}`);
});

const linkSecret = variable((v) =>
  v.length >= MIN_SECRET_LENGTH && !/\s/.test(v)
    ? new Secret(v)
    : new Invalid(`expected at least ${MIN_SECRET_LENGTH} characters without spaces (e.g. the output of \`openssl rand -hex 32\`)`),
);

const schemaFor = (home: string | undefined) =>
  z.object({
    DATABASE_URL: databaseUrl,
    SFA_DATA_DIR: pathVar(home),
    SFA_MODEL_DIR: pathVar(home),
    SFA_LIBRARY_DIR: pathVar(home),
    SFA_DEVICE: oneOf(DEVICES),
    SFA_MODEL_BASE_URL: baseUrl,
    SFA_MODEL_DOWNLOAD: oneOf(MODEL_DOWNLOADS),
    SFA_PYTHON: pathVar(home),
    DISCORD_TOKEN: discordToken,
    DISCORD_API_BASE: baseUrl,
    DISCORD_GUILD_ID: variable((v) => (/^\d{17,20}$/.test(v) ? v : new Invalid(`expected a Discord server id (a snowflake, 17 to 20 digits)${got(v)}`))),
    SPOTIFY_CLIENT_ID: variable((v) => (/^\S+$/.test(v) ? v : new Invalid(`expected a client id without spaces${got(v)}`))),
    SPOTIFY_CLIENT_SECRET: variable((v) => (/^\S+$/.test(v) ? new Secret(v) : new Invalid('expected a client secret without spaces'))),
    SPOTIFY_API_BASE: baseUrl,
    SPOTIFY_ACCOUNTS_BASE: baseUrl,
    PUBLIC_BASE_URL: baseUrl,
    SFA_MAX_DURATION_SECONDS: integer(1, 86_400, 'the longest track to accept in seconds'),
    SFA_MAX_FILE_MB: integer(1, 100_000, 'the largest download to accept in MB'),
    SFA_USER_CONCURRENCY: integer(1, 100, 'how many requests one user may have in progress'),
    SFA_USER_REQUESTS_PER_HOUR: integer(1, 10_000, 'how many tracks one user may ask for per hour (commands and reactions)'),
    SFA_MAX_BATCH_TRACKS: integer(1, 10_000, 'the most tracks of an album or playlist one request runs'),
    SFA_HTTP_PORT: integer(0, 65_535, 'a TCP port (0 picks a free one)'),
    SFA_HTTP_HOST: listenHost,
    SFA_LINK_SECRET: linkSecret,
    SFA_PLAYER_LINK_DAYS: integer(1, 365, 'days a stem player link stays valid'),
    SFA_HEARTBEAT_SECONDS: integer(1, 3_600, 'seconds between a running job\'s heartbeats'),
    SFA_STALE_AFTER_SECONDS: integer(2, 86_400, 'seconds without a heartbeat before a job is taken for lost'),
    SFA_REAPER_INTERVAL_SECONDS: integer(0, 3_600, 'seconds between checks for lost jobs (0: no reaper in this process)'),
    SFA_REACTION_WINDOW_SECONDS: seconds(3_600, 'how long the requester may react to choose the model (0: the default model at once)'),
    SFA_DISCORD_CDN_BASES: baseUrlList,
    SFA_ALLOWED_PRIVATE_ADDRESSES: ipRangeList,
    LOG_LEVEL: oneOf(LOG_LEVELS),
    SFA_VERBOSE: variable(() => true),
  });

const blank = (v: string | undefined) => !v?.trim();

/** The checkout this file is in: the Python engine (`python/`) and `catalog/` live there. */
export const REPO_ROOT = path.resolve(fileURLToPath(new URL('..', import.meta.url)));

/** The engine's Python when SFA_PYTHON is unset: the venv `npm run setup` creates. */
export function defaultPython(repoRoot: string = REPO_ROOT): string {
  return path.join(repoRoot, 'python', '.venv', 'bin', 'python');
}

export function parseConfig(env: Readonly<Record<string, string | undefined>>, options: ConfigOptions = {}): ConfigResult {
  const cwd = options.cwd ?? process.cwd();
  const repoRoot = options.repoRoot ?? REPO_ROOT;
  const parsed = schemaFor(env.HOME?.trim() || undefined).safeParse(env);
  const problems = parsed.success ? [] : parsed.error.issues.map((issue) => `${String(issue.path[0] ?? 'environment')}: ${issue.message}`);

  // Checked on the raw values so it is reported alongside any other problem.
  if (blank(env.SPOTIFY_CLIENT_ID) !== blank(env.SPOTIFY_CLIENT_SECRET)) {
    const [set, unset] = blank(env.SPOTIFY_CLIENT_ID) ? ['SPOTIFY_CLIENT_SECRET', 'SPOTIFY_CLIENT_ID'] : ['SPOTIFY_CLIENT_ID', 'SPOTIFY_CLIENT_SECRET'];
    problems.push(`${unset}: expected SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET to be set together (only ${set} is set)`);
  }
  if (parsed.success) {
    const heartbeat = parsed.data.SFA_HEARTBEAT_SECONDS ?? DEFAULTS.SFA_HEARTBEAT_SECONDS;
    const stale = parsed.data.SFA_STALE_AFTER_SECONDS ?? DEFAULTS.SFA_STALE_AFTER_SECONDS;
    // One late heartbeat (a slow query, a busy machine) must not make a live job look lost.
    if (stale < 2 * heartbeat) {
      problems.push(
        `SFA_STALE_AFTER_SECONDS: expected at least twice SFA_HEARTBEAT_SECONDS (${heartbeat} s), or live jobs would be taken for lost (got ${stale})`,
      );
    }
  }
  if (!parsed.success || problems.length > 0) return { ok: false, problems };

  const e = parsed.data;
  const abs = (p: string) => path.resolve(cwd, p);
  const dataDir = abs(e.SFA_DATA_DIR ?? DEFAULTS.SFA_DATA_DIR);
  const accountsBase = e.SPOTIFY_ACCOUNTS_BASE ?? DEFAULTS.SPOTIFY_ACCOUNTS_BASE;
  const maxFileMb = e.SFA_MAX_FILE_MB ?? DEFAULTS.SFA_MAX_FILE_MB;
  const python = e.SFA_PYTHON ?? defaultPython(repoRoot);

  const config: Config = {
    databaseUrl: e.DATABASE_URL,
    dataDir,
    modelDir: e.SFA_MODEL_DIR ? abs(e.SFA_MODEL_DIR) : path.join(dataDir, 'models'),
    modelBaseUrl: e.SFA_MODEL_BASE_URL,
    modelDownload: e.SFA_MODEL_DOWNLOAD ?? DEFAULTS.SFA_MODEL_DOWNLOAD,
    libraryDir: e.SFA_LIBRARY_DIR && abs(e.SFA_LIBRARY_DIR),
    device: e.SFA_DEVICE ?? DEFAULTS.SFA_DEVICE,
    // A bare command name ("python3") is left for PATH lookup; anything with a slash is a path.
    python: python.includes('/') ? abs(python) : python,
    discord: Object.freeze({
      token: e.DISCORD_TOKEN,
      apiBase: e.DISCORD_API_BASE ?? DEFAULTS.DISCORD_API_BASE,
      guildId: e.DISCORD_GUILD_ID,
    }),
    spotify: Object.freeze({
      credentials:
        e.SPOTIFY_CLIENT_ID && e.SPOTIFY_CLIENT_SECRET
          ? Object.freeze({ clientId: e.SPOTIFY_CLIENT_ID, clientSecret: e.SPOTIFY_CLIENT_SECRET })
          : undefined,
      apiBase: e.SPOTIFY_API_BASE ?? DEFAULTS.SPOTIFY_API_BASE,
      accountsBase,
      tokenUrl: `${accountsBase}/api/token`,
    }),
    publicBaseUrl: e.PUBLIC_BASE_URL,
    httpHost: e.SFA_HTTP_HOST ?? DEFAULTS.SFA_HTTP_HOST,
    httpPort: e.SFA_HTTP_PORT ?? DEFAULTS.SFA_HTTP_PORT,
    linkSecret: e.SFA_LINK_SECRET,
    playerLinkDays: e.SFA_PLAYER_LINK_DAYS ?? DEFAULTS.SFA_PLAYER_LINK_DAYS,
    limits: Object.freeze({
      maxDurationSeconds: e.SFA_MAX_DURATION_SECONDS ?? DEFAULTS.SFA_MAX_DURATION_SECONDS,
      maxFileMb,
      maxFileBytes: maxFileMb * 1024 * 1024,
      userConcurrency: e.SFA_USER_CONCURRENCY ?? DEFAULTS.SFA_USER_CONCURRENCY,
      userRequestsPerHour: e.SFA_USER_REQUESTS_PER_HOUR ?? DEFAULTS.SFA_USER_REQUESTS_PER_HOUR,
      maxBatchTracks: e.SFA_MAX_BATCH_TRACKS ?? DEFAULTS.SFA_MAX_BATCH_TRACKS,
      allowedPrivateRanges: Object.freeze(e.SFA_ALLOWED_PRIVATE_ADDRESSES ?? []),
    }),
    recovery: Object.freeze({
      heartbeatSeconds: e.SFA_HEARTBEAT_SECONDS ?? DEFAULTS.SFA_HEARTBEAT_SECONDS,
      staleAfterSeconds: e.SFA_STALE_AFTER_SECONDS ?? DEFAULTS.SFA_STALE_AFTER_SECONDS,
      reaperIntervalSeconds: e.SFA_REAPER_INTERVAL_SECONDS ?? DEFAULTS.SFA_REAPER_INTERVAL_SECONDS,
    }),
    bot: Object.freeze({
      reactionWindowMs: Math.round((e.SFA_REACTION_WINDOW_SECONDS ?? DEFAULTS.SFA_REACTION_WINDOW_SECONDS) * 1000),
      trustedAttachmentBases: Object.freeze(e.SFA_DISCORD_CDN_BASES ?? DEFAULTS.SFA_DISCORD_CDN_BASES),
    }),
    logLevel: e.LOG_LEVEL ?? DEFAULTS.LOG_LEVEL,
    verbose: e.SFA_VERBOSE ?? false,
  };
  return { ok: true, config: Object.freeze(config) };
}

export function formatProblems(problems: readonly string[]): string {
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  return `stem-forge: invalid configuration (${count}):\n${problems.map((p) => `  ${p}\n`).join('')}`;
}

/** For commands that return an exit code: the config, or undefined after one message on stderr listing every problem. */
export function loadConfigOrReport(
  env: Readonly<Record<string, string | undefined>> = process.env,
  options?: ConfigOptions,
  report: (text: string) => void = (text) => void process.stderr.write(text),
): Config | undefined {
  const result = parseConfig(env, options);
  if (result.ok) return result.config;
  report(formatProblems(result.problems));
  return undefined;
}

/** For process entry points: the config, or that message and exit code 2. */
export function loadConfigOrExit(env: Readonly<Record<string, string | undefined>> = process.env, options?: ConfigOptions): Config {
  return loadConfigOrReport(env, options) ?? process.exit(2);
}

/** Replaces the password (in the authority or a `password=` parameter) with ***. */
export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return '[unparseable URL, redacted]';
  }
  if (url.password) url.password = '***';
  for (const key of [...url.searchParams.keys()]) {
    if (/pass|secret|token|key/i.test(key)) url.searchParams.set(key, '***');
  }
  return url.href.replaceAll('%2A%2A%2A', '***');
}

/** A human-readable summary for start-up logs and `--help`-style output; secrets are never shown. */
export function describeConfig(config: Config): string {
  const isSet = (s: Secret | undefined) => (s ? 'set (redacted)' : 'not set');
  const lines: [string, string][] = [
    ['database', config.databaseUrl ? redactUrl(config.databaseUrl.reveal()) : 'embedded PostgreSQL (DATABASE_URL not set)'],
    ['data dir', config.dataDir],
    ['model dir', config.modelDir],
    ['model downloads', config.modelDownload === 'never' ? 'never (install with `sfa models download`)' : `on first use from ${config.modelBaseUrl ?? "demucs' own server"}`],
    ['library dir', config.libraryDir ?? 'not set'],
    ['device', config.device],
    ['python', config.python],
    ['discord token', isSet(config.discord.token)],
    ['discord api', config.discord.apiBase],
    ['discord guild', config.discord.guildId ?? 'not set (global commands)'],
    [
      'spotify credentials',
      config.spotify.credentials ? `client id ${config.spotify.credentials.clientId}, secret set (redacted)` : 'not set',
    ],
    ['spotify api', config.spotify.apiBase],
    ['spotify accounts', config.spotify.accountsBase],
    ['public base url', config.publicBaseUrl ?? 'not set'],
    ['file server', `${config.httpHost}:${config.httpPort}`],
    ['link secret', config.linkSecret ? 'set (redacted)' : 'not set (generated under the data dir)'],
    [
      'limits',
      `${config.limits.maxDurationSeconds} s per track, ${config.limits.maxFileMb} MB per file, ${config.limits.userConcurrency} requests in progress per user, ${config.limits.userRequestsPerHour} reaction requests per user per hour`,
    ],
    [
      'recovery',
      `heartbeat every ${config.recovery.heartbeatSeconds} s, lost after ${config.recovery.staleAfterSeconds} s, ${config.recovery.reaperIntervalSeconds > 0 ? `checked every ${config.recovery.reaperIntervalSeconds} s` : 'no reaper in this process'}`,
    ],
    ['model reactions', `${config.bot.reactionWindowMs / 1000} s to choose`],
    ['attachments from', config.bot.trustedAttachmentBases.join(', ')],
    [
      'private addresses',
      config.limits.allowedPrivateRanges.length
        ? `links may reach ${config.limits.allowedPrivateRanges.map(([ip, bits]) => `${ip.toString()}/${bits}`).join(', ')}`
        : 'none for chat links (public addresses only)',
    ],
    ['log level', config.logLevel],
  ];
  const width = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}
