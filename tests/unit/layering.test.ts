/**
 * Layering as a rule: src/domain is pure, the db/jobs/requests level never
 * reaches up to the front ends (bot, commands, cli), commands never reach into
 * the bot, and no import cycle anywhere. src/cli may import src/bot (both are
 * front ends). The checker (tests/support/layering.ts) is tested on planted
 * violations too, so a silent checker cannot pass.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/config.ts';
import { ALLOWED_CYCLES, describeCycle, describeViolation, importCycles, importsOf, layeringViolations, readImportGraph, type ImportGraph } from '../support/layering.ts';

const SRC = readImportGraph(path.join(REPO_ROOT, 'src'), 'src');

describe('src/', () => {
  it('reads the import graph of every file', () => {
    expect(SRC.size).toBeGreaterThan(150);
    expect(SRC.get('src/bot/runtime.ts')).toContain('src/requests/store.ts');
    // Dynamic imports count too.
    expect(SRC.get('src/main.ts')).toContain('src/bot/log.ts');
  });

  it('keeps every layering rule', () => {
    expect(layeringViolations(SRC).map(describeViolation)).toEqual([]);
  });

  it('has no import cycle but the entities\' relations', () => {
    expect(importCycles(SRC).map(describeCycle)).toEqual(ALLOWED_CYCLES.map(describeCycle));
  });
});

describe('the checker', () => {
  const graph = (edges: Record<string, string[]>): ImportGraph => new Map(Object.entries(edges));

  it('names each broken rule with the file and what it imports', () => {
    const bad = graph({
      'src/domain/a.ts': ['src/domain/b.ts', 'src/config.ts', 'catalog/models.json', 'catalog/x/y.ts'],
      'src/domain/b.ts': [],
      'src/jobs/x.ts': ['src/bot/deps.ts', 'src/requests/store.ts'],
      'src/requests/store.ts': ['src/commands/types.ts'],
      'src/db/y.ts': ['src/cli/main.ts'],
      'src/commands/cancel.ts': ['src/bot/requests/view.ts', 'src/requests/store.ts'],
      'src/cli/playerLink.ts': ['src/bot/files/secret.ts'],
      'src/bot/runtime.ts': ['src/commands/types.ts'],
    });
    expect(layeringViolations(bad).map(describeViolation)).toEqual([
      'src/domain/a.ts -> src/config.ts (src/domain imports only src/domain (and the catalog data))',
      'src/domain/a.ts -> catalog/x/y.ts (src/domain imports only src/domain (and the catalog data))',
      'src/jobs/x.ts -> src/bot/deps.ts (src/db, src/jobs and src/requests never import src/bot, src/commands or src/cli)',
      'src/requests/store.ts -> src/commands/types.ts (src/db, src/jobs and src/requests never import src/bot, src/commands or src/cli)',
      'src/db/y.ts -> src/cli/main.ts (src/db, src/jobs and src/requests never import src/bot, src/commands or src/cli)',
      'src/commands/cancel.ts -> src/bot/requests/view.ts (src/commands never imports src/bot (what a command needs arrives through src/commands/types.ts))',
    ]);
  });

  it('reports each cycle once with all its files, self-imports included', () => {
    const cyclic = graph({
      'src/bot/deps.ts': ['src/bot/log.ts'],
      'src/bot/log.ts': ['src/commands/types.ts'],
      'src/commands/types.ts': ['src/bot/deps.ts', 'src/config.ts'],
      'src/config.ts': [],
      'src/a.ts': ['src/b.ts'],
      'src/b.ts': ['src/a.ts'],
      'src/self.ts': ['src/self.ts'],
      'src/outside.ts': ['node_modules/x.ts'],
    });
    expect(importCycles(cyclic)).toEqual([['src/a.ts', 'src/b.ts'], ['src/bot/deps.ts', 'src/bot/log.ts', 'src/commands/types.ts'], ['src/self.ts']]);
    expect(describeCycle(importCycles(cyclic)[0]!)).toBe('import cycle: src/a.ts <-> src/b.ts');
    expect(importCycles(graph({ 'src/a.ts': ['src/b.ts'], 'src/b.ts': [] }))).toEqual([]);
  });

  it('reads every kind of import from the files, but not from comments or strings of other packages', () => {
    expect(
      importsOf(`import { a } from './a.ts';
import type { B } from '../b.ts';
import * as c from "./c.ts";
import './side-effect.ts';
export { d } from './d.ts';
export type { E } from './e.ts';
export * from './f.ts';
const g = await import('./g.ts');
import { z } from 'zod';
// import { h } from './h.ts';
/** see import('./i.ts') */
import {
  j,
  type K,
} from './j.ts';`),
    ).toEqual(['./a.ts', '../b.ts', './c.ts', './side-effect.ts', './d.ts', './e.ts', './f.ts', './g.ts', './j.ts']);
  });

  describe('on a folder with a planted bad import and cycle', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sfa-layering-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const write = (file: string, text: string) => {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), text);
    };
    write('domain/pure.ts', `import type { Orm } from '../db/orm.ts';\nexport const x = 1;\n`);
    write('db/orm.ts', `export type Orm = unknown;\n`);
    write('bot/one.ts', `import { two } from './two.ts';\nexport const one = two;\n`);
    write('bot/two.ts', `export { one as two } from './one.ts';\n`);

    it('fails naming them', () => {
      const planted = readImportGraph(dir, 'src');
      expect(layeringViolations(planted).map(describeViolation)).toEqual(['src/domain/pure.ts -> src/db/orm.ts (src/domain imports only src/domain (and the catalog data))']);
      expect(importCycles(planted).map(describeCycle)).toEqual(['import cycle: src/bot/one.ts <-> src/bot/two.ts']);
    });
  });
});
