/**
 * The pg-boss queues and their payloads: ONE zod schema per queue, used by the
 * producer (send.ts) and the consumer (workers). A payload only names the job
 * row; the row holds everything else (track, model, format ...), so a payload
 * can never disagree with the database.
 */
import { z } from 'zod';
import { STAGE_FACTS, STAGES, type Stage, type StageQueue } from '../../domain/stages.ts';

/** The queue names, from the stages that own them. */
export const QUEUES = {
  download: STAGE_FACTS.download.queue,
  separate: STAGE_FACTS.processing.queue,
  analyze: STAGE_FACTS.analysis.queue,
} as const satisfies { readonly [Q in StageQueue]: Q };
export type QueueName = StageQueue;
export const QUEUE_NAMES: readonly QueueName[] = STAGES.map((stage) => STAGE_FACTS[stage].queue);

/** The queue whose jobs run rows of a kind (a row's pg-boss jobs are found by singletonKey = row id). */
export const QUEUE_OF_KIND: Readonly<Record<Stage, QueueName>> = {
  download: STAGE_FACTS.download.queue,
  processing: STAGE_FACTS.processing.queue,
  analysis: STAGE_FACTS.analysis.queue,
};

/**
 * `lostAttempts`: how many earlier rows of this same work were failed as
 * "worker lost" (crash or expiry) and replaced; bounds crash loops (see README).
 */
const lostAttempts = z.int().min(0).max(10).optional();

export const DownloadPayload = z.strictObject({ downloadJobId: z.uuid(), lostAttempts });
export const SeparatePayload = z.strictObject({ processingJobId: z.uuid(), lostAttempts });
export const AnalyzePayload = z.strictObject({ analysisJobId: z.uuid(), lostAttempts });

export type DownloadPayload = z.infer<typeof DownloadPayload>;
export type SeparatePayload = z.infer<typeof SeparatePayload>;
export type AnalyzePayload = z.infer<typeof AnalyzePayload>;

export const PAYLOAD_SCHEMAS = {
  download: DownloadPayload,
  separate: SeparatePayload,
  analyze: AnalyzePayload,
} as const;

export type PayloadFor<Q extends QueueName> = z.infer<(typeof PAYLOAD_SCHEMAS)[Q]>;

export class InvalidPayloadError extends Error {
  override readonly name = 'InvalidPayloadError';
}

/** Validates what a worker received; a bad payload is a bug, never retried into success. */
export function parsePayload<Q extends QueueName>(queue: Q, data: unknown): PayloadFor<Q> {
  const parsed = PAYLOAD_SCHEMAS[queue].safeParse(data);
  if (!parsed.success) throw new InvalidPayloadError(`invalid ${queue} payload: ${z.prettifyError(parsed.error)}`);
  return parsed.data as PayloadFor<Q>;
}

/** The job row a payload names (also its pg-boss singletonKey). */
export function rowIdOf<Q extends QueueName>(queue: Q, payload: PayloadFor<Q>): string {
  const p = payload as Partial<DownloadPayload & SeparatePayload & AnalyzePayload>;
  const id = queue === QUEUES.download ? p.downloadJobId : queue === QUEUES.separate ? p.processingJobId : p.analysisJobId;
  if (!id) throw new InvalidPayloadError(`${queue} payload names no job row`);
  return id;
}
