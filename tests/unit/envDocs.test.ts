/**
 * Every environment variable the code reads is in the README's tables: the
 * config schema, direct `process.env` reads, the engine's `os.environ` reads and
 * the names the engine's child environment lets through. A setting a user
 * cannot find is a setting they cannot use.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Names of the operating system and its libraries, not ours to document. */
const SYSTEM = new Set(['PATH', 'HOME', 'LD_PRELOAD', 'MALLOC_MMAP_THRESHOLD_', 'PYTHONPATH', 'PYTHONUNBUFFERED', 'CUDA_VISIBLE_DEVICES']);

function filesUnder(dir: string, ext: string): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(ext))
    .map((e) => path.join(e.parentPath, e.name));
}

function namesRead(): Map<string, string> {
  const found = new Map<string, string>();
  const add = (name: string, where: string) => {
    if (!SYSTEM.has(name) && !found.has(name)) found.set(name, path.relative(ROOT, where));
  };
  for (const file of [...filesUnder('src', '.ts'), ...filesUnder('bin', '.js')]) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/process\.env(?:\.([A-Z][A-Z0-9_]+)|\[['"]([A-Z][A-Z0-9_]+)['"]\])/g)) add((m[1] ?? m[2])!, file);
  }
  // The config schema: `NAME: <validator>` entries of the object parsed from the environment.
  const config = path.join(ROOT, 'src/config.ts');
  for (const m of readFileSync(config, 'utf8').matchAll(/^\s+((?:SFA|DISCORD|SPOTIFY|DATABASE|PUBLIC|LOG)_?[A-Z0-9_]*):/gm)) add(m[1]!, config);
  for (const file of filesUnder('python/sfa_engine', '.py')) {
    for (const m of readFileSync(file, 'utf8').matchAll(/environ(?:\.get)?[[(]\s*["']([A-Z][A-Z0-9_]+)["']/g)) add(m[1]!, file);
  }
  return found;
}

describe('README configuration tables', () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const documented = new Set([...readme.matchAll(/^\|\s*`([A-Z][A-Z0-9_]+)`(?:,\s*`([A-Z][A-Z0-9_]+)`)?/gm)].flatMap((m) => [m[1]!, m[2]].filter(Boolean) as string[]));

  it('finds the variables it checks (the scan itself works)', () => {
    const names = namesRead();
    expect(names.get('DATABASE_URL')).toBe('src/config.ts');
    expect(names.has('SFA_TORCH_THREADS')).toBe(true);
  });

  it('lists every variable the code reads in a table row', () => {
    const missing = [...namesRead()].filter(([name]) => !documented.has(name)).map(([name, where]) => `${name} (read in ${where})`);
    expect(missing).toEqual([]);
  });
});
