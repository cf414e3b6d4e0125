/**
 * `sfa gc [--max-age DAYS] [--max-bytes SIZE] [--grace MINUTES] [--dry-run] [--json]`
 *
 * Frees space under SFA_DATA_DIR: stale temporary work folders always, then
 * stored files (downloads, stem sets, analysis pictures, fetched attachments) older than --max-age,
 * then the oldest until the stored total is at most --max-bytes. Files in use
 * are never removed (see src/jobs/storage/gc.ts for what "in use" means and
 * how the rows of removed files are marked).
 * Exit codes: 0 ok, 1 failed or still over --max-bytes (only files in use
 * left), 2 usage or configuration.
 */
import { loadConfigOrReport } from '../../config.ts';
import { formatBytes, parseDuration, parseSize } from '../../domain/gcPlan.ts';
import { parseCommandLine } from '../args.ts';
import { usageExit, type ParseOutcome } from '../usage.ts';

export const USAGE = `usage: sfa gc [--max-age DAYS] [--max-bytes SIZE] [--grace MINUTES] [--dry-run] [--json]

Frees space under SFA_DATA_DIR (downloads/, stems/, analysis/, uploads/, tmp/;
never the database or the models). Always removes stale temporary work folders
(also uploads/.incoming-* of a bot that is no longer running); then
  --max-age DAYS     removes stored files older than DAYS (e.g. 30, 0.5)
  --max-bytes SIZE   removes the oldest stored files (unreferenced ones first)
                     until the total is at most SIZE (e.g. 20G, 500M, 1.5GiB)
  --grace MINUTES    never touches anything changed in the last MINUTES (default 60)
  --dry-run          only lists what would be removed
  --json             prints one JSON object
Files whose track has work queued or running, and stems or pictures a chat
request is still waiting to deliver, are never removed. A removed file's row
is marked (its path cleared), so the next request computes it again.
`;

export interface GcArgs {
  maxAgeMs?: number;
  maxBytes?: number;
  graceMs: number;
  dryRun: boolean;
  json: boolean;
}

export const DEFAULT_GRACE_MINUTES = 60;

export function parseGcArgs(args: string[]): ParseOutcome<GcArgs> {
  const parsed = parseCommandLine(
    args,
    { 'max-age': { type: 'string' }, 'max-bytes': { type: 'string' }, grace: { type: 'string' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' } },
    { min: 0, max: 0, name: 'arguments' },
  );
  if (parsed.ok !== true) return parsed;
  const { values } = parsed.options;
  const options: GcArgs = { graceMs: DEFAULT_GRACE_MINUTES * 60_000, dryRun: values['dry-run'] ?? false, json: values.json ?? false };
  if (values['max-age'] !== undefined) {
    const age = parseDuration(values['max-age'], 'days');
    if (!age.ok) return { ok: false, message: `--max-age: ${age.message}` };
    options.maxAgeMs = age.ms;
  }
  if (values['max-bytes'] !== undefined) {
    const size = parseSize(values['max-bytes']);
    if (!size.ok) return { ok: false, message: `--max-bytes: ${size.message}` };
    options.maxBytes = size.bytes;
  }
  if (values.grace !== undefined) {
    const grace = parseDuration(values.grace, 'minutes');
    if (!grace.ok) return { ok: false, message: `--grace: ${grace.message}` };
    options.graceMs = grace.ms;
  }
  return { ok: true, options };
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseGcArgs(args);
  if (parsed.ok !== true) return usageExit('sfa gc', parsed, USAGE);
  const config = loadConfigOrReport();
  if (!config) return 2;
  const options = parsed.options;
  const { withOrm } = await import('../database.ts');
  const { collectGarbage } = await import('../../jobs/storage/gc.ts');
  const { StoragePaths } = await import('../../jobs/storage/paths.ts');

  return withOrm('sfa gc', config, async (orm) => {
    await orm.migrator.up();
    const report = await collectGarbage(orm, new StoragePaths(config.dataDir), {
      dryRun: options.dryRun,
      graceMs: options.graceMs,
      ...(options.maxAgeMs !== undefined ? { maxAgeMs: options.maxAgeMs } : {}),
      ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}),
    });
    if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else {
      const verb = report.dryRun ? 'would remove' : 'removed';
      for (const r of report.removed) process.stdout.write(`${verb} ${r.kind.padEnd(8)} ${formatBytes(r.bytes).padStart(9)}  ${r.path}  (${r.reason})\n`);
      for (const s of report.skipped) process.stdout.write(`kept     ${s.kind.padEnd(8)} ${''.padStart(9)}  ${s.path}  (${s.reason})\n`);
      const freed = report.bytesBefore - report.bytesAfter;
      process.stdout.write(
        `${report.dryRun ? 'dry run: ' : ''}${report.removed.length} item(s), ${formatBytes(freed)} ${report.dryRun ? 'would be freed' : 'freed'}; ` +
          `${formatBytes(report.bytesAfter)} stored in ${report.dataDir}` +
          `${report.maxBytes !== null ? ` (budget ${formatBytes(report.maxBytes)})` : ''}; ` +
          `kept ${report.kept.inUse} in use (${formatBytes(report.kept.inUseBytes)}), ${report.kept.grace} recent (${formatBytes(report.kept.graceBytes)})\n`,
      );
    }
    if (!report.underBudget) {
      process.stderr.write(
        `sfa gc: still over the budget: ${formatBytes(report.bytesAfter)} stored, only files in use or younger than the grace period are left\n`,
      );
      return report.dryRun ? 0 : 1;
    }
    return 0;
  });
}
