/**
 * The /status answer (pure): one block per request, newest first — what it
 * was, where it stands overall and per stage. Outside text (titles) escaped.
 */
import type { JobStatus } from './jobStatus.ts';
import { relativeTime, truncateLines, DISCORD_LIMITS } from './messages.ts';
import { outsideText } from './outsideText.ts';
import { aggregateProgress, describeStage, type Stage, type StageProgress } from './progress.ts';

export interface RequestStatus {
  kind: 'separate' | 'analyze';
  title: string;
  model: string | null;
  /** Epoch ms. */
  insertedAt: number;
  deliveryState: 'pending' | 'delivering' | 'delivered' | 'failed';
  deliveryError: string | null;
  stages: Partial<Record<Stage, { status: JobStatus; progress: number } | undefined>>;
}

export const NO_REQUESTS = 'You have no requests yet. `/separate` splits a song into stems, `/analyze` measures its tempo and key.';

function overall(r: RequestStatus): string {
  switch (r.deliveryState) {
    case 'delivered':
      return 'delivered';
    case 'failed':
      return `stopped: ${outsideText(r.deliveryError ?? 'no reason given', 200)}`;
    case 'delivering':
      return 'sending the results';
    case 'pending': {
      const stages: Partial<Record<Stage, StageProgress>> = {};
      for (const [k, v] of Object.entries(r.stages)) if (v) stages[k as Stage] = v;
      const agg = aggregateProgress(stages);
      return agg.state === 'completed' ? 'sending the results' : `${agg.percent}%`;
    }
  }
}

export function renderStatusLines(requests: readonly RequestStatus[]): string {
  if (requests.length === 0) return NO_REQUESTS;
  const blocks = requests.map((r) => {
    const what = r.kind === 'separate' ? `/separate · ${r.model ? `\`${outsideText(r.model, 40)}\`` : 'model not chosen yet'}` : '/analyze';
    const head = `**${outsideText(r.title, 100) || 'Untitled'}** — ${what} · ${relativeTime(r.insertedAt)} · ${overall(r)}`;
    const stages = (['download', 'separation', 'analysis'] as const)
      .filter((s) => r.stages[s])
      .map((s) => `${s}: ${describeStage(r.stages[s]!)}`)
      .join(' · ');
    return stages ? `${head}\n↳ ${stages}` : head;
  });
  return truncateLines(blocks.join('\n'), DISCORD_LIMITS.content);
}
