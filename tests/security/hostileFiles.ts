/**
 * Hostile files for the hostile-input suites (CLI door and Discord attachment
 * door): playlists, lists and manifests disguised as audio, decompression
 * bombs, lying headers and broken files. Every indirection points at `secret`,
 * a real audio file the sender has no business reading.
 */
import { writeFileSync } from 'node:fs';
import { readFile, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';

/** The extensions a disguised playlist is tried under. */
export const AUDIO_EXTENSIONS = ['mp3', 'wav', 'flac', 'ogg', 'm4a', 'opus', 'webm', 'aiff'] as const;

/** What ffmpeg would follow, by kind: the text of a file pointing at `secret`. */
export function indirection(kind: 'hls' | 'concat' | 'ffconcat' | 'm3u' | 'pls' | 'sdp' | 'dash', secret: string): string {
  switch (kind) {
    case 'hls':
      return `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n${secret}\n#EXT-X-ENDLIST\n`;
    case 'concat':
      // Relative: the concat demuxer's "safe" mode refuses absolute names, not relative ones.
      return `file ${path.basename(secret)}\n`;
    case 'ffconcat':
      return `ffconcat version 1.0\nfile ${path.basename(secret)}\n`;
    case 'm3u':
      return `#EXTM3U\n#EXTINF:3,Secret\n${secret}\n`;
    case 'pls':
      return `[playlist]\nNumberOfEntries=1\nFile1=${secret}\nLength1=3\nVersion=2\n`;
    case 'sdp':
      return 'v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 5004 RTP/AVP 14\n';
    case 'dash':
      return (
        '<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT3S" minBufferTime="PT1S"' +
        ` profiles="urn:mpeg:dash:profile:isoff-on-demand:2011"><Period><AdaptationSet mimeType="audio/mpeg"><Representation id="1" bandwidth="128000"><BaseURL>file:${secret}</BaseURL></Representation></AdaptationSet></Period></MPD>\n`
      );
  }
}

async function ffmpeg(args: string[]): Promise<void> {
  await execa('ffmpeg', ['-nostdin', '-v', 'error', '-y', ...args]);
}

/** A plain tone: the secret, and the files that are fine whatever their name. */
export async function tone(file: string, seconds: number, extra: string[] = []): Promise<string> {
  await ffmpeg(['-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`, ...extra, file]);
  return file;
}

/** A 10 KB FLAC whose STREAMINFO says 5 hours. */
export async function flacHeaderBomb(file: string): Promise<string> {
  await ffmpeg(['-f', 'lavfi', '-i', 'anullsrc=r=8000:cl=mono', '-t', '4', '-c:a', 'flac', file]);
  await patchFlacTotalSamples(file, 8000 * 5 * 3600);
  return file;
}

/** A ~330 KB FLAC of 30 minutes of silence whose STREAMINFO says 4 seconds: it passes the probe and decodes to far more. */
export async function flacBodyBomb(file: string): Promise<string> {
  await ffmpeg(['-f', 'lavfi', '-i', 'anullsrc=r=8000:cl=mono', '-t', '1800', '-c:a', 'flac', file]);
  await patchFlacTotalSamples(file, 8000 * 4);
  return file;
}

async function patchFlacTotalSamples(file: string, total: number): Promise<void> {
  const data = await readFile(file);
  // "fLaC", a 4-byte block header, then STREAMINFO: the 36-bit sample count ends its bytes 10..17.
  const at = data.indexOf('fLaC') + 8 + 10;
  const packed = data.readBigUInt64BE(at);
  data.writeBigUInt64BE((packed & ~((1n << 36n) - 1n)) | BigInt(total), at);
  await writeFile(file, data);
}

/** A 50 KB MP3 whose Xing/Info header claims 5 hours of frames. */
export async function mp3HeaderBomb(file: string): Promise<string> {
  await ffmpeg(['-f', 'lavfi', '-i', 'sine=duration=3', '-c:a', 'libmp3lame', '-b:a', '128k', file]);
  const data = await readFile(file);
  const info = data.indexOf('Info');
  const frames = Math.ceil((5 * 3600 * 44100) / 1152);
  data.writeUInt32BE(frames, info + 8);
  data.writeUInt32BE(frames * 418, info + 12);
  await writeFile(file, data);
  return file;
}

/** A 3 s WAV whose RIFF and data sizes claim an hour. */
export async function lyingWav(file: string): Promise<string> {
  await tone(file, 3, ['-c:a', 'pcm_s16le']);
  const data = await readFile(file);
  data.writeUInt32LE(0xfffffff0, 4);
  data.writeUInt32LE(44100 * 2 * 3600, data.indexOf('data') + 4);
  await writeFile(file, data);
  return file;
}

export async function truncatedFlac(file: string): Promise<string> {
  await tone(file, 5);
  await truncate(file, 2000);
  return file;
}

/** A 1x1 PNG. */
export async function png(file: string): Promise<string> {
  await ffmpeg(['-f', 'lavfi', '-i', 'color=c=red:s=8x8:d=1', '-frames:v', '1', '-f', 'image2', '-c:v', 'png', file]);
  return file;
}

export function text(file: string, content: string | Buffer): string {
  writeFileSync(file, content);
  return file;
}

/** A file name of exactly 255 bytes (the usual limit) in 2-byte UTF-8 characters, ending in `.ext`. */
export function longUnicodeName(ext: string): string {
  const room = 255 - (ext.length + 1);
  return `${'é'.repeat(Math.floor(room / 2))}${room % 2 ? 'x' : ''}.${ext}`;
}
