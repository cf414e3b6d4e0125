/**
 * `sfa` command dispatcher. Each sub-command lives in `src/cli/commands/<name>.ts`
 * and exports `run(args: string[]): Promise<number>` returning the exit code
 * (0 ok, 1 failed, 2 usage).
 */
export const USAGE = `usage: sfa <command> [options]

commands:
  separate <file|url> [--model M] [--out DIR] [--format wav|flac|mp3] [--json]
  analyze <file|url> [--features tempo,key,energy,spectral,mfcc,chroma|all] [--json]
  models list|check [M]
  models make-test-model --name N --size tiny|full --dir D
  status <trackId|spotify url> [--json]
  db migrate
`;

type CommandModule = { run(args: string[]): Promise<number> };

const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  separate: () => import('./commands/separate.ts'),
  analyze: () => import('./commands/analyze.ts'),
  models: () => import('./commands/models.ts'),
  status: () => import('./commands/status.ts'),
  db: () => import('./commands/db.ts'),
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
