/** What a command's argument parser returns, and the shared handling of --help and usage errors. */
export type ParseOutcome<T> = { ok: true; options: T } | { ok: false; message: string } | { ok: 'help' };

export interface UsageIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const PROCESS_IO: UsageIo = { stdout: (t) => void process.stdout.write(t), stderr: (t) => void process.stderr.write(t) };

/** Prints the help (exit 0) or the usage error with the usage text (exit 2). */
export function usageExit(command: string, outcome: Exclude<ParseOutcome<unknown>, { ok: true }>, usage: string, io: UsageIo = PROCESS_IO): number {
  if (outcome.ok === 'help') {
    io.stdout(usage);
    return 0;
  }
  io.stderr(`${command}: ${outcome.message}\n\n${usage}`);
  return 2;
}
