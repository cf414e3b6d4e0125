// Sums vitest's JSON report and pytest's JUnit XML into one closing line.
import { readFileSync } from 'node:fs';

const [vitestJson, pytestXml] = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;

try {
  const v = JSON.parse(readFileSync(vitestJson, 'utf8'));
  passed += v.numPassedTests;
  // A file that failed without a failing test (an import error, a failed beforeAll) counts once.
  const brokenFiles = (v.testResults ?? []).filter((f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed'));
  failed += v.numFailedTests + brokenFiles.length;
  skipped += (v.numPendingTests ?? 0) + (v.numTodoTests ?? 0);
} catch {
  console.error('vitest produced no report');
  failed += 1;
}
try {
  const xml = readFileSync(pytestXml, 'utf8');
  const suite = xml.match(/<testsuite [^>]*>/)?.[0] ?? '';
  const attr = (name) => Number(suite.match(new RegExp(`${name}="(\\d+)"`))?.[1] ?? 0);
  const tests = attr('tests');
  const bad = attr('failures') + attr('errors');
  const skip = attr('skipped');
  passed += tests - bad - skip;
  failed += bad;
  skipped += skip;
} catch {
  console.error('pytest produced no report');
  failed += 1;
}
console.log(`total: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
