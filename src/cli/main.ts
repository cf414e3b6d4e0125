/**
 * `sfa` command dispatcher. Each sub-command lives in `src/cli/commands/<name>.ts`
 * and exports `run(args: string[]): Promise<number>` returning the exit code
 * (0 ok, 1 failed, 2 usage).
 */
export const USAGE = `usage: sfa <command> [options]

commands:
  separate <file|url|spotify link> [--model M] [--out DIR] [--format wav|flac|mp3] [--json] [--no-worker]
  analyze <file|url|spotify link> [--features tempo,key,energy,spectral,mfcc,chroma|all] [--json] [--png PATH] [--no-worker]
  models list [--json] | check [M] | download [M...|all] [--dir D] [--json]
  models make-test-model --name N --size tiny|full --dir D
  models prepare M
  status <trackId|spotify url> [--json]
  player <track id|request id> [--serve]
  gc [--max-age DAYS] [--max-bytes SIZE] [--grace MINUTES] [--dry-run] [--json]
  db migrate
  discord register [--guild ID | --global]

  --version  prints the version

Options take \`--opt value\` or \`--opt=value\`; \`--\` ends the options (\`sfa analyze -- -my-file.wav\`).
Exit codes: 0 ok, 1 the work failed, 2 usage or configuration, 130 interrupted.
`;

/** package.json's version (read when asked: most commands never need it). */
async function version(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

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
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`sfa ${await version()}\n`);
    return 0;
  }
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!load) {
    process.stderr.write(`sfa: unknown command '${name}'\n\n${USAGE}`);
    return 2;
  }
  const command = await load();
  return command.run(rest);
}
