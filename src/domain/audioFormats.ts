/**
 * Which audio files ffmpeg may open for us, and how, and which formats stems are
 * written in. `catalog/audio_formats.json` is the single source (the Python
 * engine reads the same file).
 *
 * Why an allowlist: ffmpeg picks a demuxer from the bytes, whatever the file is
 * called. A text file named `song.mp3` holding an HLS playlist or a concat list
 * is opened as one, and its entries (other local files) are read and decoded as
 * if they were the upload. So every ffprobe/ffmpeg run on user input gets
 *   - `-protocol_whitelist file,pipe`: no network or other protocols, and
 *   - `-format_whitelist <demuxers>`: only the plain audio containers below,
 * and is pointed at the one file as `file:<absolute path>` (never a URL, never
 * something that could be read as an option). Then the probe's container and
 * codec names are checked against the same lists.
 */
import type { Stats } from 'node:fs';
import { z } from 'zod';
import rawFormats from '../../catalog/audio_formats.json' with { type: 'json' };

const Name = z.string().regex(/^[a-z0-9_]+$/, 'ffmpeg names are lower-case letters, digits and _');
/** The formats stems can be written in, as the code names them; the catalog's `stem_formats` says which are offered. */
const STEM_FORMAT_NAMES = ['wav', 'flac', 'mp3'] as const;
export type StemFormat = (typeof STEM_FORMAT_NAMES)[number];

const FormatsSchema = z.strictObject({
  demuxers: z.array(Name).min(1),
  codecs: z.array(Name).min(1),
  stem_formats: z.tuple([z.enum(STEM_FORMAT_NAMES)], z.enum(STEM_FORMAT_NAMES)),
});

export const AUDIO_FORMATS = FormatsSchema.parse(rawFormats);

/** What stems are written in (`stem_formats`, read by the engine too); the first is the default. */
export const STEM_FORMATS: readonly [StemFormat, ...StemFormat[]] = AUDIO_FORMATS.stem_formats;
export const DEFAULT_STEM_FORMAT: StemFormat = STEM_FORMATS[0];

export function isStemFormat(value: unknown): value is StemFormat {
  return typeof value === 'string' && (STEM_FORMATS as readonly string[]).includes(value);
}

/** What a user can send, for messages. */
export const ACCEPTED_FORMATS_TEXT = 'WAV, MP3, FLAC, OGG (Vorbis/Opus), M4A/AAC, WebM/MKA, AIFF, WMA, WavPack, APE or CAF';

/** Options that go before the input on every ffprobe/ffmpeg run on user input. */
export function ffmpegInputGuard(): string[] {
  return ['-protocol_whitelist', 'file,pipe', '-format_whitelist', AUDIO_FORMATS.demuxers.join(',')];
}

/** The input argument for an absolute path: the file protocol, explicitly (a name may contain ':' or start with '-'). */
export function ffmpegFileInput(absolutePath: string): string {
  return `file:${absolutePath}`;
}

export type FormatVerdict = { ok: true } | { ok: false; detected: string };

/**
 * Is a probe's container (`format_name`, e.g. "mov,mp4,m4a,3gp,3g2,mj2") and
 * first audio stream's codec acceptable? A container matches when one of its
 * comma-separated names is listed, as ffmpeg's own whitelist matches it.
 */
export function judgeProbe(formatName: string | undefined, codecName: string | undefined): FormatVerdict {
  const names = (formatName ?? '').split(',');
  if (!names.some((n) => AUDIO_FORMATS.demuxers.includes(n))) return { ok: false, detected: shownName(formatName) };
  if (!codecName || !AUDIO_FORMATS.codecs.includes(codecName)) return { ok: false, detected: `${shownName(names[0])} with ${shownName(codecName)} audio` };
  return { ok: true };
}

/**
 * The demuxer ffmpeg detected but refused ("[hls @ 0x55…] Format not on
 * whitelist …"), or undefined when the failure was something else.
 */
export function refusedDemuxer(stderr: string): string | undefined {
  if (!/Format not on whitelist/.test(stderr)) return undefined;
  const m = /\[([a-z0-9_,]+) @ 0x[0-9a-f]+\] Format not on whitelist/.exec(stderr);
  return shownName(m?.[1]);
}

const KIND: Record<string, string> = {
  hls: 'an HLS playlist',
  concat: 'a concat list',
  dash: 'a DASH manifest',
  sdp: 'an SDP session description',
  tty: 'a text file',
  image2: 'an image',
  srt: 'a subtitle file',
  ass: 'a subtitle file',
  webvtt: 'a subtitle file',
  data: 'raw data',
  lrc: 'a lyrics file',
};

/** The user-facing text for a refused format. */
export function unsupportedFormatMessage(detected: string): string {
  const codec = / with (\w+) audio$/.exec(detected)?.[1];
  if (codec) return `That file holds ${codec} audio, a codec I do not accept. Send an audio file: ${ACCEPTED_FORMATS_TEXT}.`;
  const kind = KIND[detected] ?? (detected.endsWith('_pipe') ? 'an image' : `"${detected}"`);
  return `That file is ${kind}, not an audio format I accept (playlists, lists and manifests are never followed). Send an audio file: ${ACCEPTED_FORMATS_TEXT}.`;
}

/** ffmpeg's names are [a-z0-9_,]; anything else is dropped, so nothing odd reaches a message. */
function shownName(name: string | undefined): string {
  const clean = (name ?? '').toLowerCase().replace(/[^a-z0-9_,]/g, '').slice(0, 40);
  return clean || 'unknown';
}

/** What a path names, when it is not something to read audio from. */
export type NotAFile = 'missing' | 'directory' | 'fifo' | 'device' | 'socket' | 'other';

/** What a path is (from its stat, undefined when missing), when it is not a regular file. */
export function notAFileKind(st: Pick<Stats, 'isFile' | 'isDirectory' | 'isFIFO' | 'isCharacterDevice' | 'isBlockDevice' | 'isSocket'> | undefined): NotAFile | undefined {
  if (!st) return 'missing';
  if (st.isFile()) return undefined;
  if (st.isDirectory()) return 'directory';
  if (st.isFIFO()) return 'fifo';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'device';
  if (st.isSocket()) return 'socket';
  return 'other';
}

export function notAFileMessage(kind: NotAFile): string {
  switch (kind) {
    case 'missing':
      return 'The audio file is missing. Check the path and try again.';
    case 'directory':
      return 'That is a folder, not an audio file. Give the path of one audio file.';
    case 'fifo':
      return 'That is a pipe (FIFO), not an audio file. Save the audio to a file first.';
    case 'device':
      return 'That is a device, not an audio file. Give the path of an audio file.';
    case 'socket':
      return 'That is a socket, not an audio file. Give the path of an audio file.';
    case 'other':
      return 'That is not a regular file. Give the path of an audio file.';
  }
}

export const UNREADABLE_MESSAGE = 'Cannot read the file (permission denied). Make it readable by the user the bot runs as, or copy it somewhere readable.';
