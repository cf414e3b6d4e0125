/**
 * The options of /separate and /analyze, validated before anything is queued:
 * a song (exactly one of `url:` or `file:`), an optional model and format.
 * Pure: it sees plain values (what discord.js read from the interaction), so
 * every rule is tested without Discord. Every problem comes back as one
 * user-facing line saying what to do; none echoes a link (it came from chat).
 */
import { z } from 'zod';
import { isStemFormat, STEM_FORMATS, type StemFormat } from '../domain/audioFormats.ts';
import { isModelName, unknownModelMessage, type ModelName } from '../domain/modelCatalog.ts';
import { parseLink, parseSpotifyRecord, type SpotifyRecordRef } from '../domain/spotifyInput.ts';
import { parseTrackSelection } from '../domain/trackSelection.ts';
import { CREDENTIALS_NEEDED } from '../jobs/download/spotifyRecords.ts';

/** How the Discord option is named in answers. */
export const TRACKS_OPTION = '`tracks:`';

export type SongSource =
  | { kind: 'spotify'; spotifyId: string; url: string }
  /** An album or playlist: its tracks, narrowed by `tracks:` (1-based positions, sorted). */
  | { kind: 'record'; record: SpotifyRecordRef; tracks: number[] | undefined }
  | { kind: 'url'; url: string }
  | { kind: 'file'; name: string; url: string; size: number; contentType: string | null };

export interface SourceOptions {
  source: SongSource;
  model: ModelName | undefined;
  format: StemFormat | undefined;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

export interface SourceLimits {
  /** SFA_MAX_FILE_MB in bytes: the largest attachment accepted. */
  maxFileBytes: number;
  /** false: no Spotify app credentials, so album and playlist links are refused at once (saying which settings enable them). */
  spotifyCredentials?: boolean;
}


/** Extensions of audio files the pipeline's decoders read (ffmpeg), for attachments without an audio/* type. */
export const AUDIO_FILE_EXTENSIONS: readonly string[] = ['mp3', 'wav', 'flac', 'ogg', 'oga', 'opus', 'm4a', 'aac', 'aif', 'aiff', 'wma', 'webm', 'mka', 'wv', 'ape', 'alac'];

const attachmentShape = z.object({
  name: z.string(),
  contentType: z.string().nullable(),
  size: z.number().int().nonnegative(),
  url: z.string(),
});

/** What the command reads from Discord; absent options are null (discord.js) or undefined. */
export const rawSourceOptions = z.object({
  url: z.string().nullish(),
  file: attachmentShape.nullish(),
  model: z.string().nullish(),
  format: z.string().nullish(),
  tracks: z.string().nullish(),
});
export type RawSourceOptions = z.input<typeof rawSourceOptions>;

const NEED_SONG = 'Give me a song: `url:` with a Spotify track, album or playlist link or a direct link to an audio file, or attach an audio file with `file:`.';
const TRACKS_FOR_RECORDS = `${TRACKS_OPTION} picks tracks of an album or playlist; give a Spotify album or playlist link with it, or leave it out.`;
const ONE_SONG = 'Give either `url:` or `file:`, not both: one song per request.';

/** Printable, clipped: file names come from the user. */
function shown(name: string): string {
  const clean = name.replace(/[^\x20-\x7e]/g, '?').replace(/[`*_~|]/g, '');
  return clean.length > 60 ? `${clean.slice(0, 57)}...` : clean;
}

function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function extension(name: string): string {
  return /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase() ?? '';
}

function checkLink(raw: string, tracks: string | undefined, limits: SourceLimits): Parsed<SongSource> {
  const record = parseSpotifyRecord(raw);
  if (record) {
    if (limits.spotifyCredentials === false) return { ok: false, message: CREDENTIALS_NEEDED };
    if (tracks === undefined) return { ok: true, value: { kind: 'record', record, tracks: undefined } };
    const selection = parseTrackSelection(tracks, TRACKS_OPTION);
    return selection.ok ? { ok: true, value: { kind: 'record', record, tracks: selection.numbers } } : { ok: false, message: selection.reason };
  }
  if (tracks !== undefined) return { ok: false, message: TRACKS_FOR_RECORDS };
  const link = parseLink(raw);
  if (!link.ok) return { ok: false, message: link.reason };
  return { ok: true, value: link.kind === 'url' ? { kind: 'url', url: link.url } : { kind: 'spotify', spotifyId: link.spotifyId, url: link.url } };
}

function checkFile(file: z.infer<typeof attachmentShape>, limits: SourceLimits): Parsed<SongSource> {
  const name = shown(file.name);
  const type = file.contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  const audio = type.startsWith('audio/') || AUDIO_FILE_EXTENSIONS.includes(extension(file.name));
  if (!audio) {
    const what = type ? ` (${type})` : '';
    return {
      ok: false,
      message: `"${name}" is not an audio file${what}. Attach an audio file (MP3, WAV, FLAC, OGG, M4A, ...), or give a link with \`url:\`.`,
    };
  }
  if (file.size === 0) return { ok: false, message: `"${name}" is empty. Attach the audio file again.` };
  if (file.size > limits.maxFileBytes) {
    return {
      ok: false,
      message: `"${name}" is ${megabytes(file.size)}; the largest file I take is ${megabytes(limits.maxFileBytes)}. Attach a compressed version (MP3 or FLAC), or give a link with \`url:\`.`,
    };
  }
  return { ok: true, value: { kind: 'file', name: file.name, url: file.url, size: file.size, contentType: file.contentType } };
}

function sourceOptionsSchema(limits: SourceLimits, accepts: { model: boolean; format: boolean }) {
  return rawSourceOptions.transform((raw, ctx): SourceOptions => {
    const problem = (message: string) => ctx.addIssue({ code: 'custom', message });
    const url = raw.url?.trim() ? raw.url : undefined;
    const file = raw.file ?? undefined;
    const tracks = raw.tracks?.trim() ? raw.tracks : undefined;
    let source: SongSource | undefined;
    if (url !== undefined && file !== undefined) problem(ONE_SONG);
    else if (url === undefined && file === undefined) problem(NEED_SONG);
    else if (file !== undefined && tracks !== undefined) problem(TRACKS_FOR_RECORDS);
    else {
      const checked = url !== undefined ? checkLink(url, tracks, limits) : checkFile(file!, limits);
      if (checked.ok) source = checked.value;
      else problem(checked.message);
    }

    const model = raw.model?.trim() || undefined;
    if (model !== undefined && (!accepts.model || !isModelName(model))) problem(`${unknownModelMessage(model)} \`/models\` describes them.`);
    const format = raw.format?.trim().toLowerCase() || undefined;
    if (format !== undefined && (!accepts.format || !isStemFormat(format))) {
      problem(`Unknown format "${shown(format).slice(0, 20)}". Use ${STEM_FORMATS.join(', ')}.`);
    }
    return { source: source!, model, format: format as StemFormat | undefined };
  });
}

function run(schema: ReturnType<typeof sourceOptionsSchema>, raw: unknown): Parsed<SourceOptions> {
  const result = schema.safeParse(raw);
  if (result.success) return { ok: true, value: result.data };
  // Every problem at once, one per line, so the user fixes them in one go.
  return { ok: false, message: result.error.issues.map((issue) => issue.message).join('\n') };
}

/** /separate: url | file, optional model and format. */
export function parseSeparateOptions(raw: RawSourceOptions, limits: SourceLimits): Parsed<SourceOptions> {
  return run(sourceOptionsSchema(limits, { model: true, format: true }), raw);
}

/** /analyze: url | file only. */
export function parseAnalyzeOptions(raw: RawSourceOptions, limits: SourceLimits): Parsed<Pick<SourceOptions, 'source'>> {
  const parsed = run(sourceOptionsSchema(limits, { model: false, format: false }), raw);
  return parsed.ok ? { ok: true, value: { source: parsed.value.source } } : parsed;
}

/** One line naming the song, for replies ("Spotify track 4uLU…", "song.mp3"). */
export function describeSource(source: SongSource): string {
  switch (source.kind) {
    case 'spotify':
      return `Spotify track ${source.spotifyId}`;
    case 'record':
      return `Spotify ${source.record.kind} ${source.record.id}`;
    case 'url':
      return `the audio at ${new URL(source.url).host}`;
    case 'file':
      return `"${shown(source.name)}"`;
  }
}
