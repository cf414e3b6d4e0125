/**
 * Where the CLI's progress goes (always stderr, so stdout holds only the
 * result): bars redrawn in place on a terminal, plain lines otherwise, or
 * nothing (`--json` into a pipe). What to show is decided in
 * src/domain/cliProgress.ts; this module only writes it.
 */
import { plainProgressLines, renderStageBars, type PlainMemory, type StageStates } from '../domain/cliProgress.ts';

export type ProgressMode = 'bars' | 'lines' | 'none';

export interface ProgressView {
  update(stages: StageStates): void;
  /** A message between updates (worker warnings, hints); bars are redrawn below it. */
  log(line: string): void;
  /** Leaves the last bars on screen and stops redrawing. */
  finish(): void;
}

export interface Stream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Bars on a terminal that can move the cursor; lines for pipes and files; `--json` keeps pipes quiet. */
export function chooseMode(stream: Stream, json: boolean, env: Readonly<Record<string, string | undefined>> = process.env): ProgressMode {
  const terminal = stream.isTTY === true && env.TERM !== 'dumb';
  if (terminal) return 'bars';
  return json ? 'none' : 'lines';
}

export function createProgressView(mode: ProgressMode, stream: Stream): ProgressView {
  if (mode === 'none') return { update: () => undefined, log: (line) => void stream.write(`${line}\n`), finish: () => undefined };
  if (mode === 'lines') {
    let memory: PlainMemory = {};
    return {
      update(stages) {
        const next = plainProgressLines(memory, stages);
        memory = next.memory;
        for (const line of next.lines) stream.write(`${line}\n`);
      },
      log: (line) => void stream.write(`${line}\n`),
      finish: () => undefined,
    };
  }
  let drawn = 0;
  let current: StageStates | undefined;
  let finished = false;
  const erase = () => {
    // Up to the first bar line, then clear everything below it.
    if (drawn > 0) stream.write(`\x1b[${drawn}A\r\x1b[J`);
    drawn = 0;
  };
  const draw = () => {
    if (!current) return;
    const lines = renderStageBars(current, { columns: stream.columns });
    stream.write(lines.map((l) => `${l}\n`).join(''));
    drawn = lines.length;
  };
  return {
    update(stages) {
      if (finished) return;
      current = stages;
      erase();
      draw();
    },
    log(line) {
      if (finished) return void stream.write(`${line}\n`);
      erase();
      stream.write(`${line}\n`);
      draw();
    },
    finish() {
      finished = true;
    },
  };
}
