/**
 * The end of an album or playlist request (pure): one DM with a monospace
 * table of every finished track's BPM, key and Camelot code, the tracks that
 * did not finish listed briefly after it, and the same as a CSV attachment
 * (or the same message in the channel when the requester's DMs are closed).
 * Tempo and key read as analysisWording.ts words them; outside text is
 * escaped (outsideText, or outsideCodeText inside the table's code block).
 */
import type { APIEmbed, RESTAPIAttachment } from 'discord-api-types/v10';
import { keyWords, round1, tempoWords, type AnalysisFacts } from './analysisWording.ts';
import type { RecordCard } from './batchMessage.ts';
import { COLORS, DISCORD_LIMITS, fitEmbed, truncate, truncateLines, type MessagePayload } from './messages.ts';
import { safeSlug } from './outputNames.ts';
import { outsideCodeText, outsideText as plain } from './outsideText.ts';

export interface BatchDmRow {
  position: number;
  title: string;
  artist: string | null;
  state: 'done' | 'failed' | 'skipped' | 'cancelled';
  analysis: AnalysisFacts | null;
  reason: string | null;
}

export interface BatchDmInput {
  record: RecordCard;
  rows: BatchDmRow[];
}

/** Widest title column of the table, in characters (the table stays readable on a phone). */
const TABLE_TITLE_CHARS = 28;
/** Most of the description the tracks that did not finish may take; the table gets the rest. */
const OTHERS_CHARS = 1200;
const MISSING = '—';
const ICON: Record<Exclude<BatchDmRow['state'], 'done'>, string> = { failed: '❌', skipped: '⏭️', cancelled: '⏹️' };
const isHttpUrl = (url: string | null | undefined): url is string => !!url && /^https?:\/\/\S+$/i.test(url) && url.length <= 2048;
const tracksWord = (n: number) => `${n} track${n === 1 ? '' : 's'}`;

/** Length in characters as a monospace font lays them out (code points, not UTF-16 units). */
const chars = (text: string) => [...text].length;
const padEnd = (text: string, width: number) => text + ' '.repeat(Math.max(0, width - chars(text)));
const padStart = (text: string, width: number) => ' '.repeat(Math.max(0, width - chars(text))) + text;

interface TableCells {
  position: string;
  title: string;
  bpm: string;
  key: string;
  camelot: string;
}

function tableCells(row: BatchDmRow): TableCells {
  const facts = row.analysis;
  const tempo = facts ? tempoWords(facts) : null;
  const key = facts ? keyWords(facts) : null;
  return {
    position: String(row.position),
    title: outsideCodeText(row.title, TABLE_TITLE_CHARS) || 'Untitled',
    bpm: tempo && facts?.tempo != null ? round1(facts.tempo) : MISSING,
    key: key ? outsideCodeText(key.key, 12) : MISSING,
    camelot: key?.camelot ? outsideCodeText(key.camelot, 4) : MISSING,
  };
}

/** The code block with as many rows as fit in `budget` characters, and what was left out. */
function table(rows: readonly BatchDmRow[], budget: number): { text: string; shown: number } {
  const cells = rows.map(tableCells);
  const head: TableCells = { position: '#', title: 'Title', bpm: 'BPM', key: 'Key', camelot: 'Camelot' };
  const all = [head, ...cells];
  const width = (pick: (c: TableCells) => string) => all.reduce((max, c) => Math.max(max, chars(pick(c))), 0);
  const w = { position: width((c) => c.position), title: width((c) => c.title), bpm: width((c) => c.bpm), key: width((c) => c.key) };
  const line = (c: TableCells) =>
    [padStart(c.position, w.position), padEnd(c.title, w.title), padStart(c.bpm, w.bpm), padEnd(c.key, w.key), c.camelot].join('  ').trimEnd();
  const lines = [line(head)];
  let length = '```\n'.length + lines[0]!.length + '\n```'.length;
  let shown = 0;
  for (const c of cells) {
    const next = line(c);
    const more = rows.length - shown - 1;
    const tail = more > 0 ? `\n… ${more} more in the CSV`.length : 0;
    if (length + 1 + next.length + tail > budget) break;
    lines.push(next);
    length += 1 + next.length;
    shown += 1;
  }
  const left = rows.length - shown;
  return { text: `\`\`\`\n${lines.join('\n')}\n\`\`\`${left > 0 ? `\n… ${left} more in the CSV` : ''}`, shown };
}

function otherLine(row: BatchDmRow): string {
  const title = plain(row.title, 60) || 'Untitled';
  const why = row.state === 'cancelled' ? 'cancelled' : `${row.state}${row.reason ? `: ${plain(row.reason, 80)}` : ''}`;
  return `${ICON[row.state as keyof typeof ICON]} \`${row.position}\` ${title} — ${why}`;
}

/** The tracks that did not finish, at most `budget` characters, the cut counted. */
function othersBlock(rows: readonly BatchDmRow[], budget: number): string {
  if (rows.length === 0) return '';
  const heading = `**Not in the table** (${tracksWord(rows.length)})`;
  const lines = [heading];
  let length = heading.length;
  for (let i = 0; i < rows.length; i++) {
    const next = otherLine(rows[i]!);
    const left = rows.length - i - 1;
    const tail = left > 0 ? `\n… and ${left} more in the CSV`.length : 0;
    if (length + 1 + next.length + tail > budget) {
      lines.push(`… and ${rows.length - i} more in the CSV`);
      return lines.join('\n');
    }
    lines.push(next);
    length += 1 + next.length;
  }
  return lines.join('\n');
}

function dmEmbed({ record, rows }: BatchDmInput): APIEmbed {
  const sorted = [...rows].sort((a, b) => a.position - b.position);
  const done = sorted.filter((r) => r.state === 'done');
  const others = sorted.filter((r) => r.state !== 'done');
  const title = truncate(`BPM and key · ${plain(record.name, 120) || `Untitled ${record.kind}`}`, DISCORD_LIMITS.title);
  const footer = `${done.length} of ${tracksWord(rows.length)} finished · every track is in the attached CSV`;
  const room = Math.min(DISCORD_LIMITS.description, DISCORD_LIMITS.embedTotal - title.length - footer.length);
  const othersText = othersBlock(others, Math.min(OTHERS_CHARS, Math.floor(room / 3)));
  const tableRoom = room - (othersText ? othersText.length + 2 : 0);
  const tableText = done.length ? table(done, tableRoom).text : 'No track finished, so there is nothing to tabulate; the CSV lists what happened to each.';
  const embed: APIEmbed = {
    title,
    description: [tableText, othersText].filter(Boolean).join('\n\n'),
    color: done.length ? COLORS.completed : COLORS.failed,
    footer: { text: footer },
  };
  if (isHttpUrl(record.url)) embed.url = record.url;
  if (isHttpUrl(record.artUrl)) embed.thumbnail = { url: record.artUrl };
  return fitEmbed(embed);
}

function csvAttachment(record: RecordCard): RESTAPIAttachment[] {
  return [{ id: 0, filename: batchCsvFileName(record), description: 'BPM, key and Camelot code of every track' }];
}

/** The DM at the end of a batch; the caller uploads batchCsv(...) as files[0]. Pings nobody. */
export function renderBatchDm(input: BatchDmInput): MessagePayload {
  const name = plain(input.record.name, 200) || `Untitled ${input.record.kind}`;
  return {
    content: truncateLines(`Your ${input.record.kind} **${name}** is done: the BPM and key of each track are below, and in the attached CSV.`, DISCORD_LIMITS.content),
    embeds: [dmEmbed(input)],
    attachments: csvAttachment(input.record),
    allowed_mentions: { parse: [] },
  };
}

/** The same in the request's channel when the requester's DMs are closed (Discord 50007); pings only the requester. */
export function renderBatchDmFallback(input: BatchDmInput & { requesterId: string }): MessagePayload {
  const name = plain(input.record.name, 200) || `Untitled ${input.record.kind}`;
  return {
    content: truncateLines(
      `<@${input.requesterId}> I couldn't send you a DM (your DMs are closed to this server), so here are the BPM and key of **${name}**. ` +
        'To get them privately next time, allow direct messages from server members in your privacy settings.',
      DISCORD_LIMITS.content,
    ),
    embeds: [dmEmbed(input)],
    attachments: csvAttachment(input.record),
    allowed_mentions: { parse: [], users: [input.requesterId] },
  };
}

// ---------------------------------------------------------------------------
// CSV

export const CSV_HEADER = ['position', 'title', 'artist', 'bpm', 'key', 'camelot', 'key_confidence', 'status', 'note'] as const;

/**
 * One RFC 4180 cell. A cell a spreadsheet would read as a formula (it starts with
 * = + - @, a tab or a carriage return) gets a leading ' so it stays text; a cell
 * with a comma, a quote or a line break is quoted, its quotes doubled.
 */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** 0.123456 -> "0.123"; plain decimal notation. */
const round3 = (x: number) => String(Math.round(x * 1000) / 1000);

function csvRow(row: BatchDmRow): string[] {
  const facts = row.analysis;
  const tempo = facts ? tempoWords(facts) : null;
  const key = facts ? keyWords(facts) : null;
  const note = row.reason ?? (key?.maybe ? `key uncertain, maybe ${key.maybe}` : row.state === 'done' && !facts ? 'no analysis' : '');
  return [
    String(row.position),
    row.title,
    row.artist ?? '',
    tempo && facts?.tempo != null ? facts.tempo.toFixed(1) : '',
    key?.key ?? '',
    key?.camelot ?? '',
    facts?.keyConfidence != null && Number.isFinite(facts.keyConfidence) ? round3(facts.keyConfidence) : '',
    row.state,
    note,
  ];
}

/** Every row in record order, a header first; CRLF line ends (RFC 4180). The record itself is in the file name. */
export function batchCsv(_record: RecordCard, rows: BatchDmRow[]): string {
  const sorted = [...rows].sort((a, b) => a.position - b.position);
  return [[...CSV_HEADER], ...sorted.map(csvRow)].map((cells) => `${cells.map(csvCell).join(',')}\r\n`).join('');
}

/** `<record name slug>-bpm-key.csv` (ASCII, at most 60 + 12 characters); the kind when the name has nothing usable. */
export function batchCsvFileName(record: RecordCard): string {
  return `${safeSlug(record.name, 60) || record.kind}-bpm-key.csv`;
}
