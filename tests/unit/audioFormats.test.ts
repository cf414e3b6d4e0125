import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AUDIO_FORMATS,
  ffmpegFileInput,
  ffmpegInputGuard,
  judgeProbe,
  notAFileKind,
  notAFileMessage,
  refusedDemuxer,
  unsupportedFormatMessage,
} from '../../src/domain/audioFormats.ts';
import { REPO_ROOT } from '../../src/config.ts';

const stat = (kind: 'file' | 'dir' | 'fifo' | 'char' | 'block' | 'socket' | 'link') => ({
  isFile: () => kind === 'file',
  isDirectory: () => kind === 'dir',
  isFIFO: () => kind === 'fifo',
  isCharacterDevice: () => kind === 'char',
  isBlockDevice: () => kind === 'block',
  isSocket: () => kind === 'socket',
});

describe('audio formats (catalog/audio_formats.json)', () => {
  it('is the shared file, with no playlist or network demuxer in it', () => {
    expect(AUDIO_FORMATS).toEqual(JSON.parse(readFileSync(path.join(REPO_ROOT, 'catalog/audio_formats.json'), 'utf8')));
    for (const indirect of ['hls', 'concat', 'dash', 'sdp', 'rtsp', 'image2', 'tty', 'data', 'srt', 'lrc', 'mpegts']) {
      expect(AUDIO_FORMATS.demuxers).not.toContain(indirect);
    }
  });

  it('guards every run: file and pipe protocols only, the listed demuxers, a file: input', () => {
    expect(ffmpegInputGuard()).toEqual(['-protocol_whitelist', 'file,pipe', '-format_whitelist', AUDIO_FORMATS.demuxers.join(',')]);
    expect(ffmpegFileInput('/data/-i http:x.wav')).toBe('file:/data/-i http:x.wav');
  });

  it('judges a probe by any of the container names and the codec', () => {
    expect(judgeProbe('mov,mp4,m4a,3gp,3g2,mj2', 'aac')).toEqual({ ok: true });
    expect(judgeProbe('matroska,webm', 'opus')).toEqual({ ok: true });
    expect(judgeProbe('wav', 'pcm_s24le')).toEqual({ ok: true });
    expect(judgeProbe('hls', 'mp3')).toEqual({ ok: false, detected: 'hls' });
    expect(judgeProbe('mpegts', 'mp2')).toEqual({ ok: false, detected: 'mpegts' });
    expect(judgeProbe('wav', 'adpcm_ima_wav')).toEqual({ ok: false, detected: 'wav with adpcm_ima_wav audio' });
    expect(judgeProbe('wav', undefined)).toEqual({ ok: false, detected: 'wav with unknown audio' });
    expect(judgeProbe(undefined, 'mp3')).toEqual({ ok: false, detected: 'unknown' });
    expect(judgeProbe('<b>x</b>', 'mp3')).toEqual({ ok: false, detected: 'bxb' }); // nothing odd reaches a message
  });

  it("reads the refused demuxer from ffmpeg's whitelist error, and nothing else", () => {
    expect(refusedDemuxer("[hls @ 0x55c45e5114c0] Format not on whitelist 'wav,mp3'\nfile:x.mp3: Invalid argument")).toBe('hls');
    expect(refusedDemuxer("[png_pipe @ 0x1] Format not on whitelist 'wav'")).toBe('png_pipe');
    expect(refusedDemuxer('file:x.mp3: Invalid data found when processing input')).toBeUndefined();
  });

  it('says what a refused file is', () => {
    expect(unsupportedFormatMessage('hls')).toMatch(/^That file is an HLS playlist, not an audio format I accept \(playlists, lists and manifests are never followed\)\. Send an audio file: WAV, MP3/);
    expect(unsupportedFormatMessage('concat')).toMatch(/^That file is a concat list,/);
    expect(unsupportedFormatMessage('png_pipe')).toMatch(/^That file is an image,/);
    expect(unsupportedFormatMessage('mpegts')).toMatch(/^That file is "mpegts",/);
    expect(unsupportedFormatMessage('wav with adpcm_ima_wav audio')).toMatch(/^That file holds adpcm_ima_wav audio, a codec I do not accept\./);
  });

  it('names what a path is when it is not a regular file', () => {
    expect(notAFileKind(undefined)).toBe('missing');
    expect(notAFileKind(stat('file'))).toBeUndefined();
    expect(notAFileKind(stat('dir'))).toBe('directory');
    expect(notAFileKind(stat('fifo'))).toBe('fifo');
    expect(notAFileKind(stat('char'))).toBe('device');
    expect(notAFileKind(stat('block'))).toBe('device');
    expect(notAFileKind(stat('socket'))).toBe('socket');
    expect(notAFileKind(stat('link'))).toBe('other');
    for (const kind of ['missing', 'directory', 'fifo', 'device', 'socket', 'other'] as const) expect(notAFileMessage(kind)).toMatch(/\.$/);
  });
});
