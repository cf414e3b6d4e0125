/**
 * What `sfa models download` shows while it fetches (pure): a bar with bytes,
 * rate and time left on a terminal, or one plain line per 10 % otherwise.
 */
import { formatMB } from './modelFiles.ts';

export interface DownloadSample {
  model: string;
  doneBytes: number;
  totalBytes: number;
  /** Another process is downloading it; this one waits. */
  waiting?: boolean;
}

export interface RateWindow {
  startedAt: number;
  startBytes: number;
}

/** Bytes per second since the window started (0 until there is something to measure). */
export function rate(window: RateWindow, doneBytes: number, now: number): number {
  const seconds = (now - window.startedAt) / 1000;
  return seconds > 0.2 ? Math.max(0, doneBytes - window.startBytes) / seconds : 0;
}

/** 75 -> "1:15"; undefined when it cannot be known. */
export function formatEta(seconds: number): string | undefined {
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 99 * 3600) return undefined;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

const percentOf = (s: DownloadSample) => (s.totalBytes > 0 ? Math.min(s.doneBytes >= s.totalBytes ? 100 : 99, Math.floor((s.doneBytes / s.totalBytes) * 100)) : 0);

/** `htdemucs  [#########...............]  40%  33.6 MB of 84 MB  5.2 MB/s  ETA 0:10`, cut to `columns`. */
export function renderDownloadBar(sample: DownloadSample, bytesPerSecond: number, columns?: number, width = 24): string {
  const percent = percentOf(sample);
  const filled = Math.round((percent / 100) * width);
  const parts = [`${sample.model}  [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(percent).padStart(3)}%  ${formatMB(sample.doneBytes)} of ${formatMB(sample.totalBytes)}`];
  if (sample.waiting) parts.push('(another process is downloading it)');
  else if (bytesPerSecond > 0) {
    parts.push(`${formatMB(bytesPerSecond)}/s`);
    const eta = formatEta((sample.totalBytes - sample.doneBytes) / bytesPerSecond);
    if (eta) parts.push(`ETA ${eta}`);
  }
  const line = parts.join('  ');
  return columns && columns >= 8 && line.length >= columns ? `${line.slice(0, columns - 2)}…` : line;
}

/** The plain line due for `sample`, or undefined: one at the start and one per new 10 % step. */
export function plainDownloadLine(lastDecile: number | undefined, sample: DownloadSample): { line?: string; decile: number } {
  const decile = Math.floor(percentOf(sample) / 10);
  if (lastDecile !== undefined && decile <= lastDecile) return { decile: lastDecile };
  const what = sample.waiting ? 'another process is downloading it' : 'downloading';
  return { line: `${sample.model}: ${what}, ${percentOf(sample)} % of ${formatMB(sample.totalBytes)}`, decile };
}
