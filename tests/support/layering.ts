/**
 * The layering rule of src/, as functions a test can call: read the import
 * graph of a folder of .ts files (static imports, `export … from`, type-only
 * imports and `import('…')` alike; only relative paths are ours), then list
 * the imports that break a rule and the import cycles.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** File (relative to the root, with `/`) -> the files it imports, relative to the same root. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

export interface Violation {
  from: string;
  to: string;
  rule: string;
}

const IMPORT = /(?:^|[\s;}])(?:import|export)\s*(?:type\s+)?(?:[\w*{}\s,$]*?\s*from\s*)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(full);
    return e.isFile() && e.name.endsWith('.ts') ? [full] : [];
  });
}

/** The relative specifiers of one file's source (comments are dropped first, so examples in them do not count). */
export function importsOf(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const found: string[] = [];
  for (const m of code.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2]!;
    if (spec.startsWith('./') || spec.startsWith('../')) found.push(spec);
  }
  return found;
}

/** The import graph of every .ts file under `root`; `prefix` names the root in the result (e.g. 'src'). */
export function readImportGraph(root: string, prefix = path.basename(root)): ImportGraph {
  const graph = new Map<string, string[]>();
  for (const file of tsFiles(root).sort()) {
    const name = (f: string) => path.posix.join(prefix, path.relative(root, f).split(path.sep).join('/'));
    const targets = importsOf(readFileSync(file, 'utf8')).map((spec) => name(path.resolve(path.dirname(file), spec)));
    graph.set(name(file), [...new Set(targets)]);
  }
  return graph;
}

const under = (file: string, dir: string) => file.startsWith(`src/${dir}/`);
const FRONT_ENDS = ['bot', 'commands', 'cli'];

/** The rules, each a name and a test of one import (file -> imported file, both named from the repository root). */
export const RULES: readonly { rule: string; breaks(from: string, to: string): boolean }[] = [
  // The catalogs are data both TypeScript and Python read; the domain is where they are parsed.
  { rule: 'src/domain imports only src/domain (and the catalog data)', breaks: (from, to) => under(from, 'domain') && !under(to, 'domain') && !/^catalog\/[^/]+\.json$/.test(to) },
  {
    rule: 'src/db, src/jobs and src/requests never import src/bot, src/commands or src/cli',
    breaks: (from, to) => ['db', 'jobs', 'requests'].some((d) => under(from, d)) && FRONT_ENDS.some((d) => under(to, d)),
  },
  { rule: 'src/commands never imports src/bot (what a command needs arrives through src/commands/types.ts)', breaks: (from, to) => under(from, 'commands') && under(to, 'bot') },
];

export function layeringViolations(graph: ImportGraph): Violation[] {
  const out: Violation[] = [];
  for (const [from, targets] of graph) {
    for (const to of targets) for (const r of RULES) if (r.breaks(from, to)) out.push({ from, to, rule: r.rule });
  }
  return out;
}

/**
 * Cycles that are the design, not a mistake: MikroORM entities name each other on both sides of a
 * relation (`() => Track` in Request, `() => Request` in Track), read lazily after every module loaded.
 */
export const ALLOWED_CYCLES: readonly (readonly string[])[] = [
  [
    'src/db/entities/analysisJob.ts',
    'src/db/entities/analysisResult.ts',
    'src/db/entities/downloadJob.ts',
    'src/db/entities/processingJob.ts',
    'src/db/entities/request.ts',
    'src/db/entities/stem.ts',
    'src/db/entities/track.ts',
  ],
];

/** Every import cycle, as the files of one strongly connected component (Tarjan), sorted. */
export function importCycles(graph: ImportGraph): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter);
    counter += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

export function describeViolation(v: Violation): string {
  return `${v.from} -> ${v.to} (${v.rule})`;
}

export function describeCycle(files: readonly string[]): string {
  return `import cycle: ${files.join(' <-> ')}`;
}
