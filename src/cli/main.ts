/**
 * `sfa` command dispatcher. Each sub-command lives in `src/cli/commands/<name>.ts`
 * and exports `run(args: string[]): Promise<number>` returning the exit code
 * (0 ok, 1 failed, 2 usage).
 */
export const USAGE = `usage: sfa <command> [options]

commands:
  separate <file|url|spotify link> [--model M] [--out DIR] [--format wav|flac|mp3] [--json] [--no-worker]
  analyze <file|url|spotify link> [--features tempo,key,energy,spectral,mfcc,chroma|all] [--json] [--png PATH] [--no-worker]
  models list|check [M]
  models make-test-model --name N --size tiny|full --dir D
  status <trackId|spotify url> [--json]
  player <track id|request id> [--serve]
  gc [--max-age DAYS] [--max-bytes SIZE] [--grace MINUTES] [--dry-run] [--json]
  db migrate
  discord register [--guild ID | --global]

Exit codes: 0 ok, 1 the work failed, 2 usage or configuration, 130 interrupted.
`;

type CommandModule = { run(args: string[]): Promise<number> };

const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  separate: () => import('./commands/separate.ts'),
  analyze: () => import('./commands/analyze.ts'),
  models: () => import('./commands/models.ts'),
  status: () => import('./commands/status.ts'),
  gc: () => import('./commands/gc.ts'),
  player: () => import('./commands/player.ts'),
  db: () => import('./commands/db.ts'),
  discord: () => import('./commands/discord.ts'),
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`sfa: unknown command '${name}'\n\n${USAGE}`);
    return 2;
  }
  const command = await load();
  return command.run(rest);
}
