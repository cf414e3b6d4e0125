/**
 * The environment of every child process (ffmpeg, ffprobe, yt-dlp, spotdl, the
 * Python engine, `sfa models` checks): an allowlist of what tools need, never
 * the whole parent environment. DISCORD_TOKEN, SPOTIFY_CLIENT_SECRET,
 * SFA_LINK_SECRET, DATABASE_URL and anything else not listed stay in this
 * process; a tool that a chat member can make misbehave (a demuxer bug, a
 * hostile site's extractor) has no secret to leak.
 */

/** Names every child gets, when set. */
const COMMON = new Set([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'TEMP',
  'TMP',
  'XDG_CACHE_HOME',
  'XDG_CONFIG_HOME',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'LD_LIBRARY_PATH',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'all_proxy',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'ALL_PROXY',
  // Not a secret: it marks the processes that work for one data folder, so a
  // leftover child of a stopped run can be found (ps e, /proc/<pid>/environ).
  'SFA_DATA_DIR',
]);

/** The engine's own settings (python/sfa_engine reads these) and its libraries' (torch, numba, OpenMP, BLAS). */
const ENGINE = new Set([
  'SFA_MODEL_DIR',
  'SFA_DEVICE',
  'SFA_CATALOG',
  'SFA_TORCH_THREADS',
  'SFA_OPENVINO_THREADS',
  'SFA_SEPARATION_BACKEND',
  'SFA_INFERENCE_PRECISION',
  'SFA_CACHE_DIR',
  'PYTHONPATH',
  'LD_PRELOAD',
  'CUDA_VISIBLE_DEVICES',
]);
const ENGINE_PREFIXES = ['SFA_ENGINE_', 'NUMBA_', 'OMP_', 'MKL_', 'OPENBLAS_', 'TORCH_', 'PYTORCH_', 'MALLOC_'];

export type ChildKind = 'tool' | 'engine';

/**
 * The child's environment: the allowed names from `parent` (LC_* always),
 * then `extra` (what the caller sets on purpose; undefined removes a name).
 */
export function childEnv(
  kind: ChildKind,
  extra: Readonly<Record<string, string | undefined>> = {},
  parent: Readonly<Record<string, string | undefined>> = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value === undefined || !allowed(kind, name)) continue;
    env[name] = value;
  }
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

function allowed(kind: ChildKind, name: string): boolean {
  if (COMMON.has(name) || name.startsWith('LC_')) return true;
  if (kind !== 'engine') return false;
  return ENGINE.has(name) || ENGINE_PREFIXES.some((p) => name.startsWith(p));
}
