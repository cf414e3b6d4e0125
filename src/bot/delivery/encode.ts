/**
 * Executes one stem's planned encoding (src/domain/attachmentPlan.ts) with
 * ffmpeg: MP3 at a constant 320/192/128 kb/s (libmp3lame `-b:a`), Opus at a
 * constant 96 kb/s in Ogg (libopus `-vbr off`), or the stored file as is.
 *
 * Encoded copies are cached by (stem id, encoding) at
 * `<data>/tmp/encoded-<stem id>/<encoding>.<ext>`, so delivering the same stems
 * again (a cached answer, a retried outbox row) does not encode again. A copy
 * older than its stem file is made again. The planner works from an estimate;
 * the caller gets the real size back and steps down when it does not fit.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { TRANSCODES, type Encoding, type StoredFormat, type Transcode } from '../../domain/attachmentPlan.ts';
import { runTool } from '../../jobs/download/runTool.ts';
import { assertUuid, type StoragePaths } from '../../jobs/storage/paths.ts';

export const DEFAULT_ENCODE_TIMEOUT_MS = 10 * 60_000;

export type EncodeErrorCode = 'missing_source' | 'tool_missing' | 'failed' | 'timed_out' | 'cancelled';

export class EncodeError extends Error {
  readonly code: EncodeErrorCode;
  override readonly name = 'EncodeError';
  constructor(code: EncodeErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export interface EncoderOptions {
  paths: StoragePaths;
  ffmpegPath?: string;
  ffprobePath?: string;
  timeoutMs?: number;
}

export interface EncodeRequest {
  stemId: string;
  /** The stored stem file (the Stem row's file_path). */
  filePath: string;
  encoding: Encoding;
  signal?: AbortSignal;
}

export interface EncodedFile {
  encoding: Encoding;
  /** The file to upload: the stored file for 'original', else the cached copy. */
  path: string;
  /** Real size in bytes. */
  bytes: number;
  extension: string;
  /** An earlier encoding was reused. */
  cached: boolean;
}

/** The stored formats, by file extension. */
export function storedFormatOf(filePath: string): StoredFormat | undefined {
  const ext = path.extname(filePath).slice(1).toLowerCase();
  return ext === 'wav' || ext === 'flac' || ext === 'mp3' ? ext : undefined;
}

/** Where the cached copy of (stem, encoding) lives; derived from ids only. */
export function encodedPath(paths: StoragePaths, stemId: string, encoding: Transcode): string {
  const dir = path.join(paths.tmpRoot(), `encoded-${assertUuid(stemId, 'stem id')}`);
  return path.join(dir, `${encoding}.${TRANSCODES[encoding].extension}`);
}

/** ffmpeg's argv for a transcode (absolute paths, so neither can be read as an option). */
export function ffmpegArgs(input: string, output: string, encoding: Transcode): string[] {
  const { codec, bitrateKbps } = TRANSCODES[encoding];
  const codecArgs =
    codec === 'mp3'
      ? ['-c:a', 'libmp3lame', '-b:a', `${bitrateKbps}k`, '-f', 'mp3']
      : ['-c:a', 'libopus', '-b:a', `${bitrateKbps}k`, '-vbr', 'off', '-f', 'ogg'];
  // -map_metadata -1: tags from the stem file add bytes the size estimate does not count.
  return ['-nostdin', '-v', 'error', '-y', '-i', path.resolve(input), '-map', '0:a:0', '-vn', '-map_metadata', '-1', ...codecArgs, path.resolve(output)];
}

async function fileInfo(p: string) {
  return stat(p).then(
    (s) => (s.isFile() ? s : undefined),
    () => undefined,
  );
}

function toolError(run: { cancelled: boolean; timedOut: boolean; spawnErrorCode: string | undefined; stderr: string; exitCode: number | undefined }, tool: string, timeoutMs: number): EncodeError | undefined {
  if (run.cancelled) return new EncodeError('cancelled', 'encoding was cancelled');
  if (run.timedOut) return new EncodeError('timed_out', `${tool} took longer than ${Math.round(timeoutMs / 1000)} s`);
  if (run.spawnErrorCode) return new EncodeError('tool_missing', `${tool} could not be started (${run.spawnErrorCode}); install ffmpeg (npm run setup)`);
  if (run.exitCode !== 0) {
    const detail = run.stderr.trim().split('\n').slice(-3).join(' ').slice(0, 300);
    return new EncodeError('failed', `${tool} failed (exit ${String(run.exitCode)})${detail ? `: ${detail}` : ''}`);
  }
  return undefined;
}

export class StemEncoder {
  private readonly options: EncoderOptions;
  private readonly ffmpeg: string;
  private readonly ffprobe: string;
  private readonly timeoutMs: number;

  constructor(options: EncoderOptions) {
    this.options = options;
    this.ffmpeg = options.ffmpegPath ?? 'ffmpeg';
    this.ffprobe = options.ffprobePath ?? 'ffprobe';
    this.timeoutMs = options.timeoutMs ?? DEFAULT_ENCODE_TIMEOUT_MS;
  }

  /** The file to upload for `encoding`, with its real size. Throws EncodeError. */
  async encode(request: EncodeRequest): Promise<EncodedFile> {
    const source = await fileInfo(request.filePath);
    if (!source) throw new EncodeError('missing_source', 'the stem file is missing');
    if (request.encoding === 'original') {
      const extension = path.extname(request.filePath).slice(1).toLowerCase();
      return { encoding: 'original', path: request.filePath, bytes: source.size, extension, cached: false };
    }
    const encoding = request.encoding;
    const target = encodedPath(this.options.paths, request.stemId, encoding);
    const extension = TRANSCODES[encoding].extension;
    const existing = await fileInfo(target);
    if (existing && existing.size > 0 && existing.mtimeMs >= source.mtimeMs) {
      return { encoding, path: target, bytes: existing.size, extension, cached: true };
    }

    await mkdir(path.dirname(target), { recursive: true });
    // A private name beside the target, renamed when complete: a reader (or a
    // second process encoding the same stem) never sees half a file.
    const partial = path.join(path.dirname(target), `.${encoding}.${randomBytes(6).toString('hex')}.partial.${extension}`);
    try {
      const run = await runTool(this.ffmpeg, ffmpegArgs(request.filePath, partial, encoding), {
        timeoutMs: this.timeoutMs,
        ...(request.signal ? { signal: request.signal } : {}),
      });
      const error = toolError(run, 'ffmpeg', this.timeoutMs);
      if (error) throw error;
      const made = await fileInfo(partial);
      if (!made || made.size === 0) throw new EncodeError('failed', 'ffmpeg wrote no audio');
      await rename(partial, target);
      return { encoding, path: target, bytes: made.size, extension, cached: false };
    } finally {
      await rm(partial, { force: true });
    }
  }

  /** Seconds of audio in a file (ffprobe), or null when it cannot be told. */
  async probeDuration(filePath: string, signal?: AbortSignal): Promise<number | null> {
    const run = await runTool(this.ffprobe, ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', path.resolve(filePath)], {
      timeoutMs: 60_000,
      ...(signal ? { signal } : {}),
    });
    if (toolError(run, 'ffprobe', 60_000)) return null;
    const seconds = Number(run.stdout.trim());
    return Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
  }
}
