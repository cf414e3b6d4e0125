/**
 * `sfa status <trackId|spotify url> [--json]`: the track and every job about
 * it (status, progress, error), read from the database.
 */
import { formatProblems, parseConfig } from '../../config.ts';

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
  if (args.includes('--help') || args.includes('-h')) {
    out(USAGE);
    return 0;
  }
  const json = args.includes('--json');
  const rest = args.filter((a) => a !== '--json');
  const unknown = rest.find((a) => a.startsWith('--'));
  if (unknown || rest.length !== 1) {
    err(unknown ? `sfa status: unknown option '${unknown}'\n\n${USAGE}` : USAGE);
    return 2;
  }
  const { parseTrackRef, loadTrackStatus, renderTrackStatus } = await import('../../jobs/pipeline/trackStatus.ts');
  const ref = parseTrackRef(rest[0]!);
  if ('reason' in ref) {
    err(`sfa status: ${ref.reason}\n`);
    return 2;
  }
  const parsed = parseConfig(io.env ?? process.env);
  if (!parsed.ok) {
    err(formatProblems(parsed.problems));
    return 2;
  }
  const { config } = parsed;
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
