import { describe, expect, it } from 'vitest';
import {
  CLI_STAGES,
  allSettled,
  describeStageState,
  failedStages,
  plainProgressLines,
  renderBar,
  renderStageBars,
  shownPercent,
  type PlainMemory,
  type StageState,
  type StageStates,
} from '../../src/domain/cliProgress.ts';
import { JOB_STATUSES } from '../../src/domain/jobStatus.ts';

const s = (status: StageState['status'], progress = 0, extra: Partial<StageState> = {}): StageState => ({ status, progress, ...extra });

describe('describeStageState', () => {
  it.each([
    [s('queued', 40), 'queued'],
    [s('downloading', 42.9), 'downloading 42%'],
    [s('processing', 0), 'processing 0%'],
    [s('processing', 250), 'processing 100%'],
    [s('processing', -3), 'processing 0%'],
    [s('processing', Number.NaN), 'processing 0%'],
    [s('completed', 100), 'completed'],
    [s('completed', 100, { stored: true }), 'completed (from storage)'],
    [s('failed', 30), 'failed'],
    [s('failed', 30, { error: 'The file\n  is gone.' }), 'failed: The file is gone.'],
  ])('%j -> %s', (state, text) => {
    expect(describeStageState(state)).toBe(text);
  });

  it('covers every status', () => {
    for (const status of JOB_STATUSES) expect(describeStageState(s(status, 5))).toMatch(new RegExp(`^${status}`));
  });
});

describe('shownPercent and renderBar', () => {
  it('completed shows 100 whatever the row says; others clamp and floor', () => {
    expect(shownPercent(s('completed', 0))).toBe(100);
    expect(shownPercent(s('failed', 37.8))).toBe(37);
    expect(shownPercent(s('processing', 101))).toBe(100);
  });

  it.each([
    [0, 10, '[..........]'],
    [50, 10, '[#####.....]'],
    [100, 10, '[##########]'],
    [33, 3, '[#..]'],
    [150, 4, '[####]'],
    [-5, 4, '[....]'],
    [50, 0, '[#]'], // at least one cell
    [0, 0, '[.]'],
  ])('renderBar(%d, %d) = %s', (pct, width, bar) => {
    expect(renderBar(pct, width)).toBe(bar);
  });
});

describe('renderStageBars', () => {
  it('one line per present stage, in pipeline order, with percent and status', () => {
    const lines = renderStageBars({ analyze: s('queued'), download: s('completed', 100), separate: s('processing', 40) }, { barWidth: 10 });
    expect(lines).toEqual([
      'download [##########] 100% completed',
      'separate [####......]  40% processing',
      'analyze  [..........]   0% queued',
    ]);
  });

  it('leaves out stages the command does not run', () => {
    expect(renderStageBars({ download: s('downloading', 10), analyze: s('queued') }, { barWidth: 4 })).toEqual([
      'download [....]  10% downloading',
      'analyze  [....]   0% queued',
    ]);
  });

  it('cuts lines to the terminal width so they never wrap', () => {
    const [line] = renderStageBars({ download: s('failed', 10, { error: 'x'.repeat(200) }) }, { columns: 40 });
    expect(line!.length).toBe(39);
    expect(line!.endsWith('…')).toBe(true);
    expect(renderStageBars({ download: s('queued') }, { columns: 200 })[0]).toBe(`download [${'.'.repeat(24)}]   0% queued`);
  });
});

describe('plainProgressLines', () => {
  const run = (steps: StageStates[]) => {
    let memory: PlainMemory = {};
    const out: string[] = [];
    for (const step of steps) {
      const next = plainProgressLines(memory, step);
      memory = next.memory;
      out.push(...next.lines);
    }
    return out;
  };

  it('prints the first sighting and every status change of each stage', () => {
    expect(
      run([
        { download: s('queued'), separate: s('queued') },
        { download: s('downloading', 0), separate: s('queued') },
        { download: s('completed', 100), separate: s('processing', 0) },
        { download: s('completed', 100), separate: s('failed', 0, { error: 'boom' }) },
      ]),
    ).toEqual(['download: queued', 'separate: queued', 'download: downloading 0%', 'download: completed', 'separate: processing 0%', 'separate: failed: boom']);
  });

  it('prints at most one line per 10 % step while a stage runs, nothing for repeats', () => {
    const steps = [0, 3, 9, 10, 12, 19, 25, 25, 99, 100].map((p) => ({ separate: s('processing', p) }));
    expect(run(steps)).toEqual([
      'separate: processing 0%',
      'separate: processing 10%',
      'separate: processing 25%',
      'separate: processing 99%',
      'separate: processing 100%',
    ]);
  });

  it('progress going down (a replacement row) stays quiet until it passes the last printed step', () => {
    const steps = [50, 10, 40, 55, 61].map((p) => ({ separate: s('processing', p) }));
    expect(run(steps)).toEqual(['separate: processing 50%', 'separate: processing 61%']);
  });

  it('does not mutate the memory it was given', () => {
    const memory: PlainMemory = { download: { status: 'queued', decile: 0 } };
    plainProgressLines(memory, { download: s('completed', 100) });
    expect(memory).toEqual({ download: { status: 'queued', decile: 0 } });
  });
});

describe('an engine note on a running stage', () => {
  const preparing: StageState = { status: 'processing', progress: 0, note: 'preparing model for this CPU' };
  it('is shown in the bar line and the plain line, once', () => {
    expect(renderStageBars({ separate: preparing })[0]).toMatch(/ 0% processing: preparing model for this CPU$/);
    const first = plainProgressLines({ separate: { status: 'processing', decile: 0 } }, { separate: preparing });
    expect(first.lines).toEqual(['separate: processing 0%: preparing model for this CPU']);
    expect(plainProgressLines(first.memory, { separate: preparing }).lines).toEqual([]);
  });
  it('is not shown once the stage settled', () => {
    expect(describeStageState({ ...preparing, status: 'completed' })).toBe('completed');
  });
});

describe('allSettled and failedStages', () => {
  it('settled when every present stage is completed or failed', () => {
    expect(allSettled({})).toBe(true);
    for (const status of JOB_STATUSES) {
      const terminal = status === 'completed' || status === 'failed';
      expect(allSettled({ download: s('completed'), analyze: s(status) })).toBe(terminal);
    }
  });

  it('lists failures in pipeline order with their reasons', () => {
    expect(
      failedStages({ analyze: s('failed', 0, { error: 'b' }), separate: s('completed'), download: s('failed', 0, { error: '  a ' }) }),
    ).toEqual([
      { stage: 'download', reason: 'a' },
      { stage: 'analyze', reason: 'b' },
    ]);
    expect(failedStages({ separate: s('failed') })).toEqual([{ stage: 'separate', reason: 'no reason was recorded' }]);
    expect(CLI_STAGES).toEqual(['download', 'separate', 'analyze']);
  });
});
