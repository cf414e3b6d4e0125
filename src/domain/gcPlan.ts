/**
 * `sfa gc` decisions (pure): which stored files to remove, given what is on
 * disk (units, with the protection the caller found in the database) and the
 * limits asked for. The I/O is in src/jobs/storage/gc.ts.
 *
 * Order of removal:
 *   1. stale temporary work folders (tmp/, uploads/.incoming-*),
 *   2. files older than --max-age,
 *   3. while over --max-bytes: files no row points to first, then the rest,
 *      oldest first.
 * A unit is never removed while it is held: protected by the database (work
 * queued or running for its track, a chat request still waiting to deliver
 * it, a running job's work folder) or changed within the grace period.
 */

/**
 * One removable thing: a file or a folder removed as a whole (a stem set goes
 * together, since a set with one file missing is useless).
 */
/** `upload`: an attachment the bot fetched (uploads/), the source of its tracks. */
export type GcUnitKind = 'tmp' | 'download' | 'stems' | 'overview' | 'upload' | 'orphan';

export interface GcUnit {
  path: string;
  kind: GcUnitKind;
  bytes: number;
  /** Newest modification time inside the unit (ms): its age, for --max-age and the oldest-first order. */
  modifiedMs: number;
  /** Newest modification or status-change time (ms): a file renamed into place just now is young. */
  changedMs: number;
  /** Why the database says it must stay, if it does. */
  protectedBy?: string;
}

export interface GcLimits {
  nowMs: number;
  /** Nothing changed more recently than this is removed. */
  graceMs: number;
  /** Remove files older than this (by modification time). */
  maxAgeMs?: number;
  /** Remove oldest files until the stored total is at most this many bytes. */
  maxBytes?: number;
}

export type GcRemoveReason = 'stale-tmp' | 'max-age' | 'over-budget';
export type GcKeepReason = 'in-use' | 'grace' | 'within-limits';

export interface GcPlan {
  remove: { unit: GcUnit; reason: GcRemoveReason }[];
  keep: { unit: GcUnit; reason: GcKeepReason; detail?: string }[];
  bytesBefore: number;
  bytesAfter: number;
  /** false when held units alone exceed maxBytes. */
  underBudget: boolean;
}

export function planGc(units: readonly GcUnit[], limits: GcLimits): GcPlan {
  const held = (u: GcUnit): { reason: 'in-use' | 'grace'; detail?: string } | undefined => {
    if (u.protectedBy) return { reason: 'in-use', detail: u.protectedBy };
    if (limits.nowMs - u.changedMs < limits.graceMs) return { reason: 'grace' };
    return undefined;
  };
  const removed = new Map<GcUnit, GcRemoveReason>();

  for (const unit of units) {
    if (unit.kind === 'tmp' && !held(unit)) removed.set(unit, 'stale-tmp');
  }
  if (limits.maxAgeMs !== undefined) {
    for (const unit of units) {
      if (removed.has(unit) || held(unit)) continue;
      if (limits.nowMs - unit.modifiedMs > limits.maxAgeMs) removed.set(unit, 'max-age');
    }
  }
  const bytesBefore = sum(units);
  let total = sum(units.filter((u) => !removed.has(u)));
  if (limits.maxBytes !== undefined && total > limits.maxBytes) {
    const candidates = units
      .filter((u) => !removed.has(u) && !held(u))
      .sort((a, b) => orphanFirst(a) - orphanFirst(b) || a.modifiedMs - b.modifiedMs || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    for (const unit of candidates) {
      if (total <= limits.maxBytes) break;
      removed.set(unit, 'over-budget');
      total -= unit.bytes;
    }
  }

  const remove = units.filter((u) => removed.has(u)).map((unit) => ({ unit, reason: removed.get(unit)! }));
  const keep = units
    .filter((u) => !removed.has(u))
    .map((unit) => {
      const h = held(unit);
      return h ? { unit, ...h } : { unit, reason: 'within-limits' as const };
    });
  return {
    remove,
    keep,
    bytesBefore,
    bytesAfter: total,
    underBudget: limits.maxBytes === undefined || total <= limits.maxBytes,
  };
}

/**
 * Should a tmp/ work folder count as possibly in use? A job creates its folder
 * after its row was inserted, so a folder last modified before the oldest
 * queued/running row was inserted belongs to no running job. `marginMs` absorbs
 * clock differences between the database server and this machine.
 */
export function tmpFolderMayBeInUse(modifiedMs: number, oldestActiveRowInsertedMs: number | undefined, marginMs = 60_000): boolean {
  if (oldestActiveRowInsertedMs === undefined) return false;
  return modifiedMs >= oldestActiveRowInsertedMs - marginMs;
}

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** "20G", "500M", "1.5GiB", "750 MB", "4096" (bytes). K/M/G/T are powers of 1024. */
export function parseSize(text: string): { ok: true; bytes: number } | { ok: false; message: string } {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(String(text));
  if (!m) return { ok: false, message: `"${String(text).slice(0, 30)}" is not a size; use e.g. 20G, 500M, 1.5G or a number of bytes` };
  const bytes = Math.floor(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
  if (!Number.isSafeInteger(bytes)) return { ok: false, message: `"${String(text).slice(0, 30)}" is too large` };
  return { ok: true, bytes };
}

/** A non-negative number (decimals allowed) of `unit`s, as milliseconds. */
export function parseDuration(text: string, unit: 'days' | 'minutes'): { ok: true; ms: number } | { ok: false; message: string } {
  const s = String(text).trim();
  if (!/^\d+(?:\.\d+)?$/.test(s)) return { ok: false, message: `"${s.slice(0, 30)}" is not a number of ${unit}` };
  const factor = unit === 'days' ? 86_400_000 : 60_000;
  return { ok: true, ms: Number(s) * factor };
}

/** 1536 -> "1.5 KiB"; for reports. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[i]}`;
}

function sum(units: readonly GcUnit[]): number {
  return units.reduce((n, u) => n + u.bytes, 0);
}

function orphanFirst(u: GcUnit): number {
  return u.kind === 'orphan' ? 0 : 1;
}
