/** scripts/test-summary.mjs: the one closing line of `npm test`, and its exit code. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SCRIPT = path.resolve(import.meta.dirname, '../../scripts/test-summary.mjs');
const dir = mkdtempSync(path.join(tmpdir(), 'sfa-test-summary-'));
const PYTEST = path.join(dir, 'pytest.xml');
writeFileSync(PYTEST, '<testsuites><testsuite name="pytest" errors="1" failures="0" skipped="2" tests="10"></testsuite></testsuites>');

function summarise(vitest: object) {
  const file = path.join(dir, `vitest-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(vitest));
  const run = spawnSync(process.execPath, [SCRIPT, file, PYTEST], { encoding: 'utf8' });
  return { line: run.stdout.trim(), code: run.status };
}

const file = (status: string, tests: string[]) => ({ status, assertionResults: tests.map((s) => ({ status: s })) });

describe('test summary', () => {
  it('counts one failing test once, however many suites contain it', () => {
    const vitest = { numPassedTests: 3, numFailedTests: 1, numFailedTestSuites: 3, numPendingTests: 0, testResults: [file('failed', ['passed', 'failed']), file('passed', ['passed', 'passed'])] };
    expect(summarise(vitest)).toEqual({ line: 'total: 10 passed, 2 failed, 2 skipped', code: 1 });
  });

  it('counts a file that failed without a failing test (an import error) as one failure', () => {
    const vitest = { numPassedTests: 2, numFailedTests: 0, numFailedTestSuites: 1, numPendingTests: 1, testResults: [file('failed', []), file('passed', ['passed', 'passed', 'skipped'])] };
    expect(summarise(vitest)).toEqual({ line: 'total: 9 passed, 2 failed, 3 skipped', code: 1 });
  });
});
