/**
 * `sfa status <trackId|spotify url> [--json]`: the track and every job about
 * it (status, progress, error), read from the database.
 */
import { loadConfigOrReport } from '../../config.ts';
import { parseCommandLine } from '../args.ts';

const USAGE = `usage: sfa status <track id|spotify track url> [--json]

Shows a track and each of its download, separation and analysis jobs.
  --json   print one JSON object instead
`;

export interface StatusIo {
  env?: Readonly<Record<string, string | undefined>>;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

export async function run(args: string[], io: StatusIo = {}): Promise<number> {
  const out = io.stdout ?? ((s: string) => void process.stdout.write(s));
  const err = io.stderr ?? ((s: string) => void process.stderr.write(s));
  const line = parseCommandLine(args, { json: { type: 'boolean' } }, { min: 1, max: 1, name: '<track id|spotify url>' });
  if (line.ok === 'help') {
    out(USAGE);
    return 0;
  }
  if (line.ok === false) {
    err(`sfa status: ${line.message}\n\n${USAGE}`);
    return 2;
  }
  const json = line.options.values.json ?? false;
  const rest = line.options.positionals;
  const { parseTrackRef, loadTrackStatus, renderTrackStatus } = await import('../../jobs/pipeline/trackStatus.ts');
  const ref = parseTrackRef(rest[0]!);
  if ('reason' in ref) {
    err(`sfa status: ${ref.reason}\n`);
    return 2;
  }
  const config = loadConfigOrReport(io.env ?? process.env, undefined, err);
  if (!config) return 2;
  const { withOrm } = await import('../database.ts');
  return withOrm(
    'sfa status',
    config,
    async (orm) => {
      const status = await loadTrackStatus(orm.em.fork(), ref);
      if (!status) {
        err(`sfa status: no such track (${'trackId' in ref ? ref.trackId : `spotify:track:${ref.spotifyId}`})\n`);
        return 1;
      }
      out(json ? `${JSON.stringify(status, null, 2)}\n` : renderTrackStatus(status));
      return 0;
    },
    err,
  );
}
