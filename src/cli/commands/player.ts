/**
 * `sfa player <track id|request id|stem set id> [--serve]`: prints a signed
 * link to the stem player for the newest stems of that track (valid
 * SFA_PLAYER_LINK_DAYS days). Without PUBLIC_BASE_URL the link is on this
 * host's file server; `--serve` runs that server here until Ctrl-C (when no
 * bot is serving it already).
 */
import { loadConfigOrReport } from '../../config.ts';
import { parseCommandLine } from '../args.ts';
import { usageExit } from '../usage.ts';

const USAGE = `usage: sfa player <track id|request id|stem set id> [--serve]

Prints a link to the stem player for the newest stems of the track: play,
solo, mute, loop, slow down and download them in the browser. The link is
under PUBLIC_BASE_URL when that is set, else on this host's file server
(SFA_HTTP_HOST:SFA_HTTP_PORT), and works SFA_PLAYER_LINK_DAYS days.
  --serve   serve the player here until Ctrl-C (when the bot is not running)
`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface PlayerIo {
  env?: Readonly<Record<string, string | undefined>>;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  /** Resolves when --serve should stop (default: SIGINT or SIGTERM). */
  until?: Promise<void>;
}

export async function run(args: string[], io: PlayerIo = {}): Promise<number> {
  const out = io.stdout ?? ((s: string) => void process.stdout.write(s));
  const err = io.stderr ?? ((s: string) => void process.stderr.write(s));
  const line = parseCommandLine(args, { serve: { type: 'boolean' } }, { min: 1, max: 1, name: 'id (a track, request or stem set id)' });
  if (line.ok !== true) return usageExit('sfa player', line, USAGE, { stdout: out, stderr: err });
  const serve = line.options.values.serve === true;
  const rest = line.options.positionals;
  const id = rest[0]!.toLowerCase();
  if (!UUID.test(id)) {
    err(`sfa player: "${rest[0]!.slice(0, 60)}" is not a track, request or stem set id (a uuid, as \`sfa status\` and \`sfa separate\` print)\n`);
    return 2;
  }
  const config = loadConfigOrReport(io.env ?? process.env, undefined, err);
  if (!config) return 2;
  const { withOrm } = await import('../database.ts');
  return withOrm(
    'sfa player',
    config,
    async (orm) => {
      const { findStemSetId, stemSetLookup } = await import('../../bot/files/player/stemSet.ts');
      const setId = await findStemSetId(orm, id);
      if (!setId) {
        err(`sfa player: no finished stems for ${id} (run \`sfa separate\` first; \`sfa status ${id}\` shows its jobs)\n`);
        return 1;
      }
      if (!serve) {
        const { cliPlayerUrl } = await import('../playerLink.ts');
        out(`${await cliPlayerUrl(config, setId)}\n`);
        if (!config.publicBaseUrl) err('sfa player: PUBLIC_BASE_URL is not set: this link works on this host while the bot runs (or run sfa player --serve)\n');
        return 0;
      }
      const { startFileServer } = await import('../../bot/files/server.ts');
      const { stemLookup } = await import('../../bot/files/lookup.ts');
      const { playerRoutes } = await import('../../bot/files/player/routes.ts');
      const { StemEncoder } = await import('../../bot/delivery/encode.ts');
      const { StoragePaths } = await import('../../jobs/storage/paths.ts');
      const { resolveLinkSecret } = await import('../../bot/files/secret.ts');
      const linkSecret = (await resolveLinkSecret({ configured: config.linkSecret, dataDir: config.dataDir, log: { info: () => undefined, warn: (m) => err(`${m}\n`) } })).reveal();
      const paths = new StoragePaths(config.dataDir);
      const log = { info: () => undefined, warn: (m: string) => err(`${m}\n`), error: (m: string) => err(`${m}\n`) };
      let server;
      try {
        server = await startFileServer({
          host: config.httpHost,
          port: config.httpPort,
          secret: linkSecret,
          lookup: stemLookup(orm),
          dataDir: config.dataDir,
          log,
          routes: playerRoutes({ secret: linkSecret, lookup: stemSetLookup(orm), paths, encoder: new StemEncoder({ paths }), log }),
        });
      } catch (error) {
        err(`sfa player: ${(error as Error).message} (is the bot running? Its file server serves this link too)\n`);
        return 1;
      }
      const { playerExpiry, playerUrl } = await import('../../domain/playerLink.ts');
      out(`${playerUrl(server.url, linkSecret, setId, playerExpiry(Date.now(), config.playerLinkDays))}\n`);
      err(`sfa player: serving the stem player on ${server.url} until Ctrl-C\n`);
      await (io.until ??
        new Promise<void>((resolve) => {
          process.once('SIGINT', () => resolve());
          process.once('SIGTERM', () => resolve());
        }));
      await server.close();
      return 0;
    },
    err,
  );
}
