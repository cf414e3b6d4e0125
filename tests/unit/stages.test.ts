import { describe, expect, it } from 'vitest';
import { JOB_TABLES } from '../../src/db/jobStatusWrites.ts';
import { CLI_STAGES } from '../../src/domain/cliProgress.ts';
import { STAGES as PROGRESS_STAGES } from '../../src/domain/progress.ts';
import { STAGE_FACTS, STAGES, stageOfQueue } from '../../src/domain/stages.ts';
import { QUEUE_NAMES, QUEUE_OF_KIND, QUEUES } from '../../src/jobs/queues/payloads.ts';

describe('the pipeline stages', () => {
  it('keep the stored table and queue names (renaming them would orphan rows and jobs)', () => {
    expect(STAGES).toEqual(['download', 'processing', 'analysis']);
    expect(STAGES.map((s) => STAGE_FACTS[s].table)).toEqual(['download_jobs', 'processing_jobs', 'analysis_jobs']);
    expect(STAGES.map((s) => STAGE_FACTS[s].queue)).toEqual(['download', 'separate', 'analyze']);
    expect(STAGES.map((s) => STAGE_FACTS[s].label)).toEqual(['download', 'separation', 'analysis']);
  });

  it('are what the tables, queues and progress read', () => {
    expect(Object.values(JOB_TABLES)).toEqual(STAGES.map((s) => STAGE_FACTS[s].table));
    expect(QUEUE_NAMES).toEqual(CLI_STAGES);
    expect(Object.keys(QUEUES)).toEqual([...QUEUE_NAMES]);
    expect(PROGRESS_STAGES).toEqual(['download', 'separation', 'analysis']);
    for (const stage of STAGES) {
      expect(QUEUE_OF_KIND[stage]).toBe(STAGE_FACTS[stage].queue);
      expect(stageOfQueue(STAGE_FACTS[stage].queue)).toBe(stage);
    }
  });
});
