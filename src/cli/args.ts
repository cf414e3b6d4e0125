/**
 * The one argument parser of the `sfa` command (node:util parseArgs, strict):
 * `--opt value` and `--opt=value`, `--` ends the options (what follows is
 * positional, even when it starts with "-"), unknown options and a wrong
 * number of arguments are usage errors, `-h`/`--help` asks for the usage.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { ParseOutcome } from './usage.ts';

type Options = NonNullable<ParseArgsConfig['options']>;
type WithHelp<O extends Options> = O & { help: { type: 'boolean'; short: 'h' } };
type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: WithHelp<O>; allowPositionals: true; strict: true }>>;

export interface CommandLine<O extends Options> {
  values: Parsed<O>['values'];
  positionals: string[];
}

export interface PositionalRule {
  min: number;
  max: number;
  /** How the usage names them, e.g. `<file|url>`. */
  name: string;
}

export function parseCommandLine<const O extends Options>(args: readonly string[], options: O, positionals: PositionalRule): ParseOutcome<CommandLine<O>> {
  let parsed: Parsed<O>;
  try {
    parsed = parseArgs({
      args: [...args],
      options: { ...options, help: { type: 'boolean', short: 'h' } } as WithHelp<O>,
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
  if ((parsed.values as { help?: boolean }).help) return { ok: 'help' };
  const count = parsed.positionals.length;
  if (count < positionals.min) return { ok: false, message: `missing ${positionals.name}` };
  if (count > positionals.max) {
    const extra = parsed.positionals[positionals.max]!;
    return { ok: false, message: positionals.max === 0 ? `unexpected argument '${extra}'` : `unexpected argument '${extra}' (expected at most ${positionals.max} ${positionals.name})` };
  }
  return { ok: true, options: { values: parsed.values, positionals: parsed.positionals } };
}
