/** What a command's argument parser returns, and the shared handling of --help and usage errors. */
export type ParseOutcome<T> = { ok: true; options: T } | { ok: false; message: string } | { ok: 'help' };

/** Prints the help (exit 0) or the usage error with the usage text (exit 2). */
export function usageExit(command: string, outcome: Exclude<ParseOutcome<unknown>, { ok: true }>, usage: string): number {
  if (outcome.ok === 'help') {
    process.stdout.write(usage);
    return 0;
  }
  process.stderr.write(`${command}: ${outcome.message}\n\n${usage}`);
  return 2;
}
