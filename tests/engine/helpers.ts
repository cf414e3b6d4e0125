/** Test fixtures for the engine tests: tiny random models and generated WAV files. */
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { REPO_ROOT } from '../../src/config.ts';
import type { Logger } from '../../src/log.ts';

export const PYTHON = process.env.SFA_PYTHON ?? path.join(REPO_ROOT, 'python/.venv/bin/python');

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `sfa-${prefix}-`));
}

/** Writes tiny random checkpoints for `names` through the real generator. */
export async function makeTinyModels(names: string[]): Promise<string> {
  const dir = tempDir('models');
  for (const name of names) {
    await execa(PYTHON, ['-m', 'sfa_engine.make_test_model', '--name', name, '--size', 'tiny', '--dir', dir], {
      cwd: path.join(REPO_ROOT, 'python'),
    });
  }
  return dir;
}

/**
 * A 16-bit stereo PCM WAV of `frames` frames at `rate`: `sampleAt(i)` gives frame i's
 * left and right samples in [-1, 1] (scaled by 32767 and rounded), called once per frame in order.
 */
export function pcm16StereoWav(frames: number, rate: number, sampleAt: (frame: number) => readonly [number, number]): Buffer {
  const data = Buffer.alloc(frames * 4);
  for (let i = 0; i < frames; i++) {
    const [left, right] = sampleAt(i);
    data.writeInt16LE(Math.round(left * 32767), i * 4);
    data.writeInt16LE(Math.round(right * 32767), i * 4 + 2);
  }
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(2, 22);
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 4, 28);
  header.writeUInt16LE(4, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

/** 16-bit stereo 44.1 kHz WAV: a tone per channel plus deterministic noise. */
export function writeToneWav(file: string, seconds: number, sampleRate = 44100): string {
  let seed = 12345;
  const noise = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff - 0.5) * 0.05;
  const wav = pcm16StereoWav(Math.round(seconds * sampleRate), sampleRate, (i) => {
    const t = i / sampleRate;
    return [0.3 * Math.sin(2 * Math.PI * 220 * t) + noise(), 0.3 * Math.sin(2 * Math.PI * 330 * t) + noise()];
  });
  writeFileSync(file, wav);
  return file;
}

/**
 * Stereo 44.1 kHz audio made with ffmpeg (lavfi): a sine at `frequency` plus a little pink
 * noise, `seconds` long; 16-bit WAV, or FLAC/MP3 (320 kbit/s) by the extension. Creates the folder.
 */
export async function toneWav(file: string, seconds: number, frequency = 220): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  const codec = file.endsWith('.flac') ? ['-c:a', 'flac'] : file.endsWith('.mp3') ? ['-c:a', 'libmp3lame', '-b:a', '320k'] : ['-c:a', 'pcm_s16le'];
  await execa('ffmpeg', [
    '-v', 'error', '-nostdin', '-y',
    '-f', 'lavfi', '-i', `sine=frequency=${frequency}:duration=${seconds}:sample_rate=44100`,
    '-f', 'lavfi', '-i', `anoisesrc=color=pink:amplitude=0.05:duration=${seconds}:sample_rate=44100`,
    '-filter_complex', '[0][1]amix=inputs=2:normalize=0,aformat=channel_layouts=stereo',
    '-ar', '44100', ...codec, file,
  ]);
  return file;
}

/** Reads a PCM WAV header: returns channels, rate, bits and frame count. */
export function wavInfo(file: string): { channels: number; sampleRate: number; bits: number; frames: number } {
  const buf = readFileSync(file);
  if (buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') throw new Error(`${file}: not a WAV`);
  let offset = 12;
  let fmt: { channels: number; sampleRate: number; bits: number } | undefined;
  while (offset + 8 <= buf.length) {
    const id = buf.toString('ascii', offset, offset + 4);
    const size = buf.readUInt32LE(offset + 4);
    if (id === 'fmt ') fmt = { channels: buf.readUInt16LE(offset + 10), sampleRate: buf.readUInt32LE(offset + 12), bits: buf.readUInt16LE(offset + 22) };
    if (id === 'data' && fmt) return { ...fmt, frames: size / (fmt.channels * (fmt.bits / 8)) };
    offset += 8 + size + (size % 2);
  }
  throw new Error(`${file}: no data chunk`);
}

/** Collects engine stderr instead of printing it; tests can inspect it on failure. */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };
}
