import { execa } from 'execa';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export async function makeTempDir(prefix = 'sfa-dl-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A sine tone encoded by ffmpeg (format from the extension), with optional tags. */
export async function makeTone(file: string, seconds: number, tags: Record<string, string> = {}, extraArgs: string[] = []): Promise<string> {
  const meta = Object.entries(tags).flatMap(([k, v]) => ['-metadata', `${k}=${v}`]);
  await execa('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`, '-ac', '2', ...meta, ...extraArgs, file]);
  return file;
}

/**
 * A stand-in executable: records its argv (NUL-separated) and prints canned
 * output. Used only for argument building and error parsing.
 */
export async function makeFakeTool(
  dir: string,
  name: string,
  behaviour: { stdout?: string; stderr?: string; exitCode?: number; sleepSeconds?: number; createFile?: string },
): Promise<{ path: string; args: () => Promise<string[]> }> {
  const argsFile = path.join(dir, `${name}.args`);
  const out = path.join(dir, `${name}.stdout`);
  const err = path.join(dir, `${name}.stderr`);
  await writeFile(out, behaviour.stdout ?? '');
  await writeFile(err, behaviour.stderr ?? '');
  const script = [
    '#!/bin/sh',
    `printf '%s\\0' "$@" > '${argsFile}'`,
    behaviour.sleepSeconds ? `sleep ${behaviour.sleepSeconds}` : '',
    behaviour.createFile ? `printf 'x' > '${behaviour.createFile}'` : '',
    `cat '${out}'`,
    `cat '${err}' >&2`,
    `exit ${behaviour.exitCode ?? 0}`,
    '',
  ].join('\n');
  const file = path.join(dir, name);
  await writeFile(file, script);
  await chmod(file, 0o755);
  return {
    path: file,
    args: async () => (await readFile(argsFile, 'utf8')).split('\0').slice(0, -1),
  };
}
