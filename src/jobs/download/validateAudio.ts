import { constants, type Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import {
  ffmpegFileInput,
  ffmpegInputGuard,
  judgeProbe,
  notAFileKind,
  notAFileMessage,
  refusedDemuxer,
  UNREADABLE_MESSAGE,
  unsupportedFormatMessage,
} from '../../domain/audioFormats.ts';
import { AudioValidationError, cancelledError, formatDuration } from './errors.ts';
import { runTool } from './runTool.ts';

export interface AudioInfo {
  durationSeconds: number;
  codec: string;
  sampleRate: number;
  channels: number;
  bytes: number;
}

export interface ValidateAudioOptions {
  /** Longest accepted track (default 1200 s = SFA_MAX_DURATION_SECONDS's default). */
  maxDurationSeconds?: number;
  minDurationSeconds?: number;
  ffprobePath?: string;
  ffmpegPath?: string;
  /** Seconds actually decoded to prove the stream is not garbage (default 10; 0 = skip). */
  decodeCheckSeconds?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

const Probe = z.object({
  streams: z
    .array(
      z.object({
        codec_type: z.string().optional(),
        codec_name: z.string().optional(),
        sample_rate: z.coerce.number().optional(),
        channels: z.number().optional(),
        duration: z.coerce.number().optional(),
      }),
    )
    .default([]),
  format: z.object({ duration: z.coerce.number().optional(), format_name: z.string().optional() }).optional(),
});

/**
 * A regular file this process can read, or a specific AudioValidationError:
 * missing, a folder/fifo/device, or unreadable (permission denied). Opened
 * non-blocking, so a fifo swapped in after the stat cannot hang us.
 */
export async function checkReadableFile(file: string): Promise<Stats> {
  const st = await stat(file).catch(() => undefined);
  const kind = notAFileKind(st);
  if (kind) throw new AudioValidationError(kind === 'missing' ? 'not_found' : 'invalid_input', notAFileMessage(kind), { detail: file });
  try {
    const fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
    await fh.close();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') throw new AudioValidationError('unreadable', UNREADABLE_MESSAGE, { detail: file });
    throw new AudioValidationError('not_found', notAFileMessage('missing'), { detail: `${file}: ${code ?? String(error)}` });
  }
  return st!;
}

/** ffprobe + a short real decode: is this a usable audio file within our limits? */
export async function validateAudio(input: string, opts: ValidateAudioOptions = {}): Promise<AudioInfo> {
  // Absolute path, given as file:<path>: a name starting with '-' or holding ':' is never an option or a URL.
  const file = path.resolve(input);
  const maxSeconds = opts.maxDurationSeconds ?? 1200;
  const minSeconds = opts.minDurationSeconds ?? 1;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const signalOpt = opts.signal ? { signal: opts.signal } : {};

  const st = await checkReadableFile(file);
  if (st.size === 0) throw new AudioValidationError('invalid_audio', 'The audio file is empty. Try another source.');

  const probe = await runTool(
    opts.ffprobePath ?? 'ffprobe',
    [
      '-v', 'error',
      ...ffmpegInputGuard(),
      '-show_entries', 'format=duration,format_name:stream=codec_type,codec_name,sample_rate,channels,duration',
      '-of', 'json',
      ffmpegFileInput(file),
    ],
    { timeoutMs, ...signalOpt },
  );
  if (probe.cancelled) throw cancelledError('Checking the audio');
  if (probe.spawnErrorCode) throw new AudioValidationError('tool_missing', 'ffprobe is not installed; install ffmpeg (`npm run setup`).', { detail: probe.spawnErrorCode });
  if (probe.exitCode !== 0) {
    const refused = refusedDemuxer(probe.stderr);
    if (refused) throw new AudioValidationError('unsupported_audio', unsupportedFormatMessage(refused), { detail: probe.stderr.trim().slice(0, 300) });
    if (/Permission denied/i.test(probe.stderr)) throw new AudioValidationError('unreadable', UNREADABLE_MESSAGE, { detail: probe.stderr.trim().slice(0, 300) });
    throw new AudioValidationError('not_audio', 'That file is not audio we can read (it may be a web page, a broken download or an unsupported format). Try another file or link.', { detail: probe.stderr.trim().slice(0, 300) });
  }
  let parsed;
  try {
    parsed = Probe.parse(JSON.parse(probe.stdout));
  } catch (err) {
    throw new AudioValidationError('not_audio', 'That file is not audio we can read. Try another file or link.', { detail: String(err) });
  }
  const audio = parsed.streams.find((s) => s.codec_type === 'audio');
  if (!audio) throw new AudioValidationError('not_audio', 'That file has no audio track. Send an audio file (mp3, flac, wav, ogg, m4a …).');
  const verdict = judgeProbe(parsed.format?.format_name, audio.codec_name);
  if (!verdict.ok) throw new AudioValidationError('unsupported_audio', unsupportedFormatMessage(verdict.detected));

  const duration = finite(parsed.format?.duration) ?? finite(audio.duration);
  if (duration === undefined) throw new AudioValidationError('invalid_audio', 'Could not tell how long that audio is; the file may be damaged. Try another file or link.');
  if (duration > maxSeconds) {
    throw new AudioValidationError('too_long', `The track is ${formatDuration(duration)} long; the limit is ${formatDuration(maxSeconds)}. Use a shorter track (the limit is SFA_MAX_DURATION_SECONDS).`);
  }
  if (duration < minSeconds) throw new AudioValidationError('too_short', `The audio is only ${duration.toFixed(2)} s long; send at least ${minSeconds} s.`);

  const decodeSeconds = opts.decodeCheckSeconds ?? 10;
  if (decodeSeconds > 0) {
    // Headers can look fine on a truncated/corrupt file; decoding a few seconds proves it plays.
    const dec = await runTool(
      opts.ffmpegPath ?? 'ffmpeg',
      ['-nostdin', '-v', 'error', '-xerror', ...ffmpegInputGuard(), '-t', String(decodeSeconds), '-i', ffmpegFileInput(file), '-map', '0:a:0', '-f', 'null', '-'],
      { timeoutMs, ...signalOpt },
    );
    if (dec.cancelled) throw cancelledError('Checking the audio');
    if (dec.spawnErrorCode) throw new AudioValidationError('tool_missing', 'ffmpeg is not installed; install it (`npm run setup`).', { detail: dec.spawnErrorCode });
    if (dec.exitCode !== 0) {
      throw new AudioValidationError('invalid_audio', 'The audio could not be decoded (the file looks damaged). Try another file or link.', { detail: dec.stderr.trim().slice(0, 300) });
    }
  }

  return {
    durationSeconds: duration,
    codec: audio.codec_name ?? 'unknown',
    sampleRate: finite(audio.sample_rate) ?? 0,
    channels: audio.channels ?? 0,
    bytes: st.size,
  };
}

function finite(n: number | undefined): number | undefined {
  return n !== undefined && Number.isFinite(n) ? n : undefined;
}
