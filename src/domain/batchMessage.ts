/**
 * The one channel message of an album or playlist request (pure): the
 * record's card, what runs, counts, where the stems go, and one compact line
 * per track, edited as work advances. Every piece of outside text goes
 * through outsideText; the result always fits Discord's limits, however many
 * tracks the record has, by showing the lines that matter most (running and
 * failed tracks, then those nearest to where the work is) and counting the
 * rest. Deterministic: the caller hashes the payload to skip unchanged edits.
 */
import type { APIEmbed } from 'discord-api-types/v10';
import { keyWords, tempoWords, type AnalysisFacts } from './analysisWording.ts';
import { COLORS, DISCORD_LIMITS, fitEmbed, formatClock, keyText, truncate, type MessagePayload, type StageView } from './messages.ts';
import { fetchPercent } from './modelFiles.ts';
import { outsideText as plain } from './outsideText.ts';
import { aggregateProgress, clampPercent, STAGES, type Stage } from './progress.ts';

export interface RecordCard {
  kind: 'album' | 'playlist';
  name: string;
  /** The album's artists, or the playlist's owner. */
  by: string | null;
  artUrl: string | null;
  /** The record's Spotify page. */
  url: string | null;
  /** Tracks in the record as Spotify lists it (not only those that run). */
  trackCount: number;
  /** Sum of the record's track durations in seconds; null when unknown. */
  durationSeconds: number | null;
}

export type BatchTrackStatus =
  /** Waits for a free slot of the user. */
  | { state: 'queued' }
  /** Its pipeline, as the single-track message shows it. */
  | { state: 'running'; stages: Partial<Record<Stage, StageView>> }
  /** link: the track's stem player/stems link when stems are not posted in a thread. */
  | { state: 'done'; analysis: AnalysisFacts | null; link: string | null }
  | { state: 'failed'; reason: string }
  /** Never ran: local file, podcast episode, unavailable, over the limit. */
  | { state: 'skipped'; reason: string }
  | { state: 'cancelled' };

export type BatchTrackState = BatchTrackStatus['state'];

export interface BatchTrackLine {
  position: number;
  title: string;
  artist: string | null;
  durationSeconds: number | null;
  status: BatchTrackStatus;
}

export interface BatchView {
  requesterId: string;
  kind: 'separate' | 'analyze';
  record: RecordCard;
  /** What runs, e.g. "the first 10 of 23 tracks" (from planBatch in batchPlan.ts). */
  summary: string;
  /** The selection that would run what the limit left out, e.g. "11-23"; null when nothing was left out. */
  rest: string | null;
  /** The separation model (kind 'separate'); null for analyze. */
  model: string | null;
  /** Every entry considered, in record order, skipped ones included. */
  tracks: BatchTrackLine[];
  /**
   * Where each track's stems go: 'thread' (a thread on this message), 'links' (no thread
   * allowed here; each done line carries its link), 'messages' (no thread and no file
   * server: stems follow as messages in this channel), null: not known yet / analyze.
   */
  stemsPlace: 'thread' | 'links' | 'messages' | null;
  state: 'running' | 'done' | 'cancelled';
}

/** Count order in the counts line and the "… N more (…)" lines. */
const STATE_ORDER: readonly BatchTrackState[] = ['done', 'running', 'queued', 'failed', 'skipped', 'cancelled'];

const ICON: Record<BatchTrackState, string> = { queued: '⏳', running: '🔄', done: '✅', failed: '❌', skipped: '⏭️', cancelled: '⏹️' };

const STAGE_VERB: Record<Stage, { doing: string; to: string }> = {
  download: { doing: 'downloading', to: 'download' },
  separation: { doing: 'separating', to: 'separate' },
  analysis: { doing: 'analyzing', to: 'analyze' },
};

export const BATCH_CANCELLED_LINE = 'Cancelled at your request; finished tracks are kept.';

/** Record titles: short enough that the escaped text stays inside Discord's 256. */
const TITLE_CHARS = 120;
const LINE_TITLE_CHARS = 80;
const isHttpUrl = (url: string | null | undefined): url is string => !!url && /^https?:\/\/\S+$/i.test(url) && url.length <= 2048;
const tracksWord = (n: number) => `${n} track${n === 1 ? '' : 's'}`;

/** "120 BPM · A minor (8A)", from the one wording in analysisWording.ts; null when neither is known. */
export function tempoKeyText(facts: AnalysisFacts): string | null {
  const tempo = tempoWords(facts);
  const key = keyWords(facts);
  const keyPart = key ? `${keyText(key.key)}${key.camelot ? ` (${plain(key.camelot, 4)})` : ''}` : null;
  const parts = [tempo?.bpm, keyPart].filter((p): p is string => !!p);
  return parts.length ? parts.join(' · ') : null;
}

/** A running track's compact status: the stage it is in and how far ("separating 45%"). */
function runningText(stages: Partial<Record<Stage, StageView>>): string {
  if (!STAGES.some((stage) => stages[stage])) return 'starting';
  for (const stage of STAGES) {
    const view = stages[stage];
    if (!view || view.status === 'completed') continue;
    if (view.status === 'failed') return `${stage} failed`;
    if (view.status === 'queued') return `waiting to ${STAGE_VERB[stage].to}`;
    if (view.fetch) return `fetching the model ${fetchPercent(view.fetch)}%`;
    const percent = `${STAGE_VERB[stage].doing} ${Math.floor(clampPercent(view.progress))}%`;
    return view.note ? `${percent} (first use, slower)` : percent;
  }
  return 'finishing';
}

function statusText(status: BatchTrackStatus): string {
  switch (status.state) {
    case 'queued':
      return 'queued';
    case 'running':
      return runningText(status.stages);
    case 'done': {
      const words = status.analysis ? tempoKeyText(status.analysis) : null;
      const link = isHttpUrl(status.link) ? `[stems](${status.link})` : null;
      return [words ?? 'done', link].filter(Boolean).join(' · ');
    }
    case 'failed':
      return `failed: ${plain(status.reason, 80) || 'no reason given'}`;
    case 'skipped':
      return `skipped: ${plain(status.reason, 60) || 'cannot run'}`;
    case 'cancelled':
      return 'cancelled';
  }
}

function trackLine(track: BatchTrackLine, width: number, recordBy: string | null): string {
  const position = String(track.position).padStart(width, '0');
  const title = plain(track.title, LINE_TITLE_CHARS) || 'Untitled';
  const artist = track.artist && track.artist !== recordBy ? ` · ${plain(track.artist, 60)}` : '';
  return `${ICON[track.status.state]} \`${position}\` ${title}${artist} — ${statusText(track.status)}`;
}

const GIVE_UP_AFTER = 50;

type Counts = Record<BatchTrackState, number>;
const noCounts = (): Counts => ({ queued: 0, running: 0, done: 0, failed: 0, skipped: 0, cancelled: 0 });

/** "4 done · 1 running · 5 queued" (zero counts left out). */
function countsText(counts: Counts, separator: string): string {
  return STATE_ORDER.filter((s) => counts[s] > 0).map((s) => `${counts[s]} ${s}`).join(separator);
}

/**
 * Which track lines to show within `budget` characters (lines joined by "\n"): every
 * line not shown is counted in a "… N more (…)" line in its place. Running and failed
 * tracks come first, then the nearest to where the work is (the first running or
 * queued track; the start once everything finished), earlier before later.
 */
export function chooseTrackLines(tracks: readonly BatchTrackLine[], budget: number, render: (t: BatchTrackLine) => string): string[] {
  const n = tracks.length;
  if (n === 0) return ['No tracks.'];
  // prefix[s][i]: tracks of state s among the first i.
  const prefix = {} as Record<BatchTrackState, Int32Array>;
  for (const s of STATE_ORDER) prefix[s] = new Int32Array(n + 1);
  tracks.forEach((t, i) => {
    for (const s of STATE_ORDER) prefix[s][i + 1] = prefix[s][i]! + (t.status.state === s ? 1 : 0);
  });
  const gapLine = (from: number, to: number): string => {
    const counts = noCounts();
    for (const s of STATE_ORDER) counts[s] = prefix[s][to + 1]! - prefix[s][from]!;
    return `… ${to - from + 1} more (${countsText(counts, ', ')})`;
  };
  const gapCost = (from: number, to: number) => (to < from ? 0 : gapLine(from, to).length + 1);
  const rendered: (string | undefined)[] = new Array(n);
  const lineOf = (i: number) => (rendered[i] ??= render(tracks[i]!));
  let whole = -1;
  for (let i = 0; i < n && whole <= budget; i++) whole += lineOf(i).length + 1;
  if (whole <= budget) return rendered as string[];
  if (gapCost(0, n - 1) - 1 > budget) return budget > 0 ? [truncate(gapLine(0, n - 1), budget)] : [];

  let anchor = tracks.findIndex((t) => t.status.state === 'running');
  if (anchor < 0) anchor = tracks.findIndex((t) => t.status.state === 'queued');
  if (anchor < 0) anchor = 0;
  const urgent = (t: BatchTrackLine) => t.status.state === 'running' || t.status.state === 'failed';
  const order = tracks
    .map((t, i) => ({ i, urgent: urgent(t) ? 0 : 1, distance: Math.abs(i - anchor), after: i < anchor ? 0 : 1 }))
    .sort((a, b) => a.urgent - b.urgent || a.distance - b.distance || a.after - b.after || a.i - b.i);

  const chosen: number[] = []; // sorted indices
  // Each item costs its length + 1 (its newline); the last newline is not written.
  let total = gapCost(0, n - 1);
  // After this many lines in a row that did not fit the description is as good as full: stop looking
  // (a later short line might still fit, but trying all 10,000 costs a render 15 times as long).
  let misses = 0;
  for (const { i } of order) {
    if (misses >= GIVE_UP_AFTER) break;
    let at = 0;
    let hi = chosen.length;
    while (at < hi) {
      const mid = (at + hi) >> 1;
      if (chosen[mid]! < i) at = mid + 1;
      else hi = mid;
    }
    const before = at > 0 ? chosen[at - 1]! : -1;
    const after = at < chosen.length ? chosen[at]! : n;
    const line = lineOf(i);
    const delta = gapCost(before + 1, i - 1) + line.length + 1 + gapCost(i + 1, after - 1) - gapCost(before + 1, after - 1);
    // A line that does not fit is passed over: a later one may (its gap line is shorter than it).
    if (total + delta - 1 > budget) {
      misses += 1;
      continue;
    }
    misses = 0;
    total += delta;
    chosen.splice(at, 0, i);
  }

  const out: string[] = [];
  let next = 0;
  for (const i of chosen) {
    if (i > next) out.push(gapLine(next, i - 1));
    out.push(lineOf(i));
    next = i + 1;
  }
  if (next < n) out.push(gapLine(next, n - 1));
  return out;
}

function overallPercent(tracks: readonly BatchTrackLine[]): number {
  const runs = tracks.filter((t) => t.status.state !== 'skipped');
  if (runs.length === 0) return 0;
  let sum = 0;
  let finished = 0;
  for (const t of runs) {
    const s = t.status;
    if (s.state === 'done' || s.state === 'failed' || s.state === 'cancelled') {
      sum += 100;
      finished += 1;
    } else if (s.state === 'running') sum += aggregateProgress(s.stages).percent;
  }
  return finished === runs.length ? 100 : Math.min(99, Math.floor(sum / runs.length));
}

const STEMS_PLACE_LINE: Record<NonNullable<BatchView['stemsPlace']>, string> = {
  thread: "🧵 Each track's stems go into the thread on this message.",
  links: '🔗 I may not create threads in this channel, so each finished track links to its stems.',
  messages: '📨 I may not create threads in this channel, so the stems follow as messages here.',
};

export function renderBatchMessage(view: BatchView): MessagePayload {
  const { record, tracks } = view;
  const counts = noCounts();
  for (const t of tracks) counts[t.status.state] += 1;
  const runnable = tracks.length - counts.skipped;

  const kindWord = record.kind === 'album' ? 'Album' : 'Playlist';
  const card = [
    `${kindWord}${record.by ? ` by **${plain(record.by, 200)}**` : ''}`,
    tracksWord(Math.max(0, Math.floor(record.trackCount))),
    formatClock(record.durationSeconds),
  ].filter((p): p is string => !!p);
  const what = view.kind === 'separate' ? `Separating${view.model ? ` with **${plain(view.model, 40)}**` : ''}` : 'Analyzing';
  const header = [card.join(' · '), `Requested by <@${view.requesterId}>`, `${what}: ${plain(view.summary, 300)}.`, countsText(counts, ' · ') || 'no tracks'];
  if (view.stemsPlace) header.push(STEMS_PLACE_LINE[view.stemsPlace]);
  if (view.state === 'running') header.push('📬 When every track is done, I DM you a table of their BPM and key, with a CSV.');
  if (view.state === 'cancelled') header.push(`⏹️ ${BATCH_CANCELLED_LINE}`);
  const headerText = `${header.join('\n')}\n\n`;

  const progress =
    view.state === 'running'
      ? `${counts.done + counts.failed + counts.cancelled} of ${tracksWord(runnable)} finished · overall ${overallPercent(tracks)}%`
      : view.state === 'cancelled'
        ? `Cancelled · ${counts.done} of ${tracksWord(runnable)} done`
        : `Finished · ${counts.done} of ${tracksWord(runnable)} done`;
  const rest = view.rest ? ` · The limit left out tracks ${truncate(view.rest, 200)}: run /${view.kind} again with tracks: ${truncate(view.rest, 200)}` : '';
  const footer = truncate(`${progress}${rest}`, DISCORD_LIMITS.footer);
  const title = truncate(plain(record.name, TITLE_CHARS) || `Untitled ${record.kind}`, DISCORD_LIMITS.title);

  const room = Math.min(DISCORD_LIMITS.description, DISCORD_LIMITS.embedTotal - title.length - footer.length) - headerText.length;
  const width = Math.max(2, String(tracks.reduce((max, t) => Math.max(max, t.position), 0)).length);
  const lines = chooseTrackLines(tracks, room, (t) => trackLine(t, width, record.by));

  const color =
    view.state === 'cancelled' ? COLORS.queued : view.state === 'running' ? COLORS.running : counts.done === 0 && counts.failed > 0 ? COLORS.failed : COLORS.completed;
  const embed: APIEmbed = { title, description: `${headerText}${lines.join('\n')}`, color, footer: { text: footer } };
  if (isHttpUrl(record.url)) embed.url = record.url;
  if (isHttpUrl(record.artUrl)) embed.thumbnail = { url: record.artUrl };
  // A progress message pings nobody; the requester is named, not notified.
  return { embeds: [fitEmbed(embed)], allowed_mentions: { parse: [] } };
}
