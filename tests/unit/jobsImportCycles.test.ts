/**
 * src/jobs has no import cycles (type-only imports count too): a module's
 * dependencies can be read, and loaded, in one direction.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../../src/jobs');

function importGraph(root: string): Map<string, string[]> {
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(root, f));
  const known = new Set(files);
  return new Map(
    files.map((file) => {
      const specifiers = [...readFileSync(file, 'utf8').matchAll(/(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]/g)].map((m) => m[1]!);
      return [file, specifiers.map((s) => path.resolve(path.dirname(file), s)).filter((dep) => known.has(dep))];
    }),
  );
}

/** Every cycle found by a depth-first walk, as "a.ts -> b.ts" (relative to root). */
function cycles(graph: Map<string, string[]>, root: string): string[] {
  const found = new Set<string>();
  const stack: string[] = [];
  const done = new Set<string>();
  const visit = (file: string) => {
    stack.push(file);
    for (const dep of graph.get(file) ?? []) {
      const at = stack.indexOf(dep);
      if (at >= 0) found.add(stack.slice(at).map((f) => path.relative(root, f)).join(' -> '));
      else if (!done.has(dep)) visit(dep);
    }
    stack.pop();
    done.add(file);
  };
  for (const file of graph.keys()) if (!done.has(file)) visit(file);
  return [...found];
}

describe('src/jobs imports', () => {
  it('finds the imports it checks (the scan itself works)', () => {
    const graph = importGraph(ROOT);
    expect(graph.get(path.join(ROOT, 'workers/download.ts'))).toContain(path.join(ROOT, 'workers/runClaimedJob.ts'));
    expect(cycles(new Map([['/a.ts', ['/b.ts']], ['/b.ts', ['/a.ts']]]), '/')).toEqual(['a.ts -> b.ts']);
  });

  it('has no cycles', () => {
    expect(cycles(importGraph(ROOT), ROOT)).toEqual([]);
  });
});
