/**
 * How each stem reaches Discord (pure): the stored file if it fits the upload
 * limit, else the best lossy encoding whose size, estimated from the duration,
 * fits (MP3 320 -> 192 -> 128 kb/s -> Opus 96 kb/s), else a link to the file
 * the bot serves. Attachments are grouped into messages of at most 10 files.
 * The delivery code executes the plan; after an actual 413 it asks
 * `afterTooLarge` for the next step down.
 *
 * Sizes assume constant bit rate (encode with CBR: ffmpeg's libmp3lame `-b:a`,
 * libopus `-vbr off`); the margin covers container and tag overhead.
 */

/** Discord's default per-attachment limit (since 2025-01-16); DMs from a bot get this. */
export const DEFAULT_ATTACHMENT_LIMIT = 10 * 1024 * 1024;
/** Discord refuses an 11th file on one message (30015). */
export const MAX_ATTACHMENTS_PER_MESSAGE = 10;
/** Estimates are bit rate x duration, plus this share ... */
export const SIZE_MARGIN = 0.03;
/** ... plus this many bytes for headers, tags and Ogg pages. */
export const CONTAINER_OVERHEAD_BYTES = 16 * 1024;

export type StoredFormat = 'wav' | 'flac' | 'mp3';
export type Transcode = 'mp3_320' | 'mp3_192' | 'mp3_128' | 'opus_96';
export type Encoding = 'original' | Transcode;

export interface TranscodeInfo {
  codec: 'mp3' | 'opus';
  bitrateKbps: number;
  /** Opus goes in Ogg, which Discord's player plays. */
  extension: 'mp3' | 'ogg';
  label: string;
}

export const TRANSCODES: Readonly<Record<Transcode, TranscodeInfo>> = {
  mp3_320: { codec: 'mp3', bitrateKbps: 320, extension: 'mp3', label: 'MP3 320 kb/s' },
  mp3_192: { codec: 'mp3', bitrateKbps: 192, extension: 'mp3', label: 'MP3 192 kb/s' },
  mp3_128: { codec: 'mp3', bitrateKbps: 128, extension: 'mp3', label: 'MP3 128 kb/s' },
  opus_96: { codec: 'opus', bitrateKbps: 96, extension: 'ogg', label: 'Opus 96 kb/s' },
};

/** Best first: each step trades quality for size. */
export const LADDER: readonly Transcode[] = ['mp3_320', 'mp3_192', 'mp3_128', 'opus_96'];

export interface StemFile {
  id: string;
  /** Shown to the user and used for the attachment's file name, e.g. "vocals". */
  name: string;
  /** Seconds; null when unknown (then only the stored file or a link are possible). */
  durationSeconds: number | null;
  /** Size of the stored file in bytes. */
  sizeBytes: number;
  format: StoredFormat;
}

export type AttachDelivery = {
  kind: 'attach';
  stem: StemFile;
  encoding: Encoding;
  fileName: string;
  /** Exact for the original, the estimate (an upper bound under CBR) for a transcode. */
  bytes: number;
  /** A lossy copy stands in for the stored file: offer the stored file as a link too. */
  originalAsLink: boolean;
};
export type LinkDelivery = {
  kind: 'link';
  stem: StemFile;
  /** too_large: no encoding fits; unknown_duration: the stored file does not fit and nothing can be estimated. */
  reason: 'too_large' | 'unknown_duration';
  fileName: string;
};
export type StemDelivery = AttachDelivery | LinkDelivery;

export interface AttachmentPlan {
  limitBytes: number;
  /** One entry per stem, in input order. */
  stems: StemDelivery[];
  /** Attachments grouped into messages of at most MAX_ATTACHMENTS_PER_MESSAGE, in input order. */
  messages: AttachDelivery[][];
  links: LinkDelivery[];
}

export interface PlanOptions {
  /** The interaction's attachment_size_limit; undefined/null (e.g. a DM) means the default. */
  limitBytes?: number | null;
  /** The format the user asked for; undefined: no preference. */
  requestedFormat?: StoredFormat;
}

/** The per-attachment limit to plan with. */
export function resolveLimit(limitBytes: number | null | undefined): number {
  if (limitBytes === undefined || limitBytes === null) return DEFAULT_ATTACHMENT_LIMIT;
  if (!Number.isSafeInteger(limitBytes) || limitBytes <= 0) {
    throw new RangeError(`attachment size limit must be a positive whole number of bytes, got ${limitBytes}`);
  }
  return limitBytes;
}

function checkStem(stem: StemFile): void {
  if (!Number.isSafeInteger(stem.sizeBytes) || stem.sizeBytes < 0) {
    throw new RangeError(`stem "${stem.name}": size must be a whole number of bytes >= 0, got ${stem.sizeBytes}`);
  }
  if (stem.durationSeconds !== null && !(Number.isFinite(stem.durationSeconds) && stem.durationSeconds >= 0)) {
    throw new RangeError(`stem "${stem.name}": duration must be seconds >= 0 or null, got ${stem.durationSeconds}`);
  }
}

/** Upper bound of a CBR encoding's size for `durationSeconds` of audio. */
export function estimatedBytes(encoding: Transcode, durationSeconds: number): number {
  const bytesPerSecond = (TRANSCODES[encoding].bitrateKbps * 1000) / 8;
  return Math.ceil(bytesPerSecond * durationSeconds * (1 + SIZE_MARGIN)) + CONTAINER_OVERHEAD_BYTES;
}

/** The longest whole-second duration whose estimate still fits `limitBytes` (0 if none does). */
export function maxDurationSeconds(encoding: Transcode, limitBytes: number): number {
  const bytesPerSecond = (TRANSCODES[encoding].bitrateKbps * 1000) / 8;
  let seconds = Math.max(0, Math.floor((limitBytes - CONTAINER_OVERHEAD_BYTES) / (bytesPerSecond * (1 + SIZE_MARGIN))));
  // Settle floating-point edges against the estimate itself, which is what planning uses.
  while (seconds > 0 && estimatedBytes(encoding, seconds) > limitBytes) seconds -= 1;
  while (estimatedBytes(encoding, seconds + 1) <= limitBytes) seconds += 1;
  return seconds;
}

/**
 * Whether the stored file may be sent as is: always, unless the user asked for
 * MP3 and it is lossless (they want the small file). A lossless file satisfies
 * a request for the other lossless format, and an MP3 is never inflated to WAV.
 */
export function acceptsOriginal(stored: StoredFormat, requested: StoredFormat | undefined): boolean {
  return !(requested === 'mp3' && stored !== 'mp3');
}

const extensionOf = (stem: StemFile, encoding: Encoding) => (encoding === 'original' ? stem.format : TRANSCODES[encoding].extension);

/** A file name Discord keeps as is: letters, digits, . _ - only, at most 64 characters before the extension. */
export function attachmentFileName(name: string, extension: string): string {
  const base = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // accents split off by NFKD: "é" -> "e"
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+|[._]+$/g, '')
    .slice(0, 64);
  return `${base || 'stem'}.${extension}`;
}

function attach(stem: StemFile, encoding: Encoding): AttachDelivery {
  const bytes = encoding === 'original' ? stem.sizeBytes : estimatedBytes(encoding, stem.durationSeconds ?? 0);
  return {
    kind: 'attach',
    stem,
    encoding,
    fileName: attachmentFileName(stem.name, extensionOf(stem, encoding)),
    bytes,
    originalAsLink: encoding !== 'original',
  };
}

function link(stem: StemFile, reason: LinkDelivery['reason']): LinkDelivery {
  return { kind: 'link', stem, reason, fileName: attachmentFileName(stem.name, stem.format) };
}

/** Transcodes from `start` on that would make the file smaller (re-encoding an MP3 320 to MP3 320 gains nothing). */
function smallerTranscodes(stem: StemFile, start: number): Transcode[] {
  const duration = stem.durationSeconds;
  if (duration === null) return [];
  return LADDER.slice(start).filter((encoding) => estimatedBytes(encoding, duration) < stem.sizeBytes);
}

/** The delivery for one stem under `limitBytes` (already resolved). */
export function chooseDelivery(stem: StemFile, limitBytes: number, requestedFormat?: StoredFormat): StemDelivery {
  checkStem(stem);
  const limit = resolveLimit(limitBytes);
  if (acceptsOriginal(stem.format, requestedFormat) && stem.sizeBytes <= limit) return attach(stem, 'original');
  if (stem.durationSeconds === null) return link(stem, 'unknown_duration');
  const duration = stem.durationSeconds;
  const fits = smallerTranscodes(stem, 0).find((encoding) => estimatedBytes(encoding, duration) <= limit);
  return fits ? attach(stem, fits) : link(stem, 'too_large');
}

/** Attachments in input order, at most MAX_ATTACHMENTS_PER_MESSAGE per message; links are left out. */
export function groupIntoMessages(deliveries: readonly StemDelivery[]): AttachDelivery[][] {
  const attachments = deliveries.filter((d): d is AttachDelivery => d.kind === 'attach');
  const messages: AttachDelivery[][] = [];
  for (let i = 0; i < attachments.length; i += MAX_ATTACHMENTS_PER_MESSAGE) {
    messages.push(attachments.slice(i, i + MAX_ATTACHMENTS_PER_MESSAGE));
  }
  return messages;
}

export function planAttachments(stems: readonly StemFile[], options: PlanOptions = {}): AttachmentPlan {
  const limitBytes = resolveLimit(options.limitBytes);
  const deliveries = stems.map((stem) => chooseDelivery(stem, limitBytes, options.requestedFormat));
  return {
    limitBytes,
    stems: deliveries,
    messages: groupIntoMessages(deliveries),
    links: deliveries.filter((d): d is LinkDelivery => d.kind === 'link'),
  };
}

/**
 * Discord answered 413 for `previous`: the real limit is lower than planned.
 * Step down one encoding (skipping those that would not shrink the file), or
 * fall back to a link when there is nothing smaller left.
 */
export function afterTooLarge(previous: Encoding | 'link', stem: StemFile): StemDelivery {
  checkStem(stem);
  if (previous === 'link') return link(stem, 'too_large');
  if (stem.durationSeconds === null) return link(stem, 'unknown_duration');
  const start = previous === 'original' ? 0 : LADDER.indexOf(previous) + 1;
  const next = smallerTranscodes(stem, start)[0];
  return next ? attach(stem, next) : link(stem, 'too_large');
}
