/** Every entity, in the order handed to MikroORM. */
export { Track, type ITrack } from './track.ts';
export { DownloadJob, type IDownloadJob } from './downloadJob.ts';
export { ProcessingJob, type IProcessingJob } from './processingJob.ts';
export { AnalysisJob, type IAnalysisJob } from './analysisJob.ts';
export { Stem, type IStem } from './stem.ts';
export { AnalysisResult, type IAnalysisResult } from './analysisResult.ts';
export {
  Request,
  type IRequest,
  REQUEST_KINDS,
  DELIVERY_STATES,
  AUDIO_FORMATS,
  MODEL_SOURCES,
  DM_STATES,
  type RequestKind,
  type DeliveryState,
  type AudioFormat,
  type ModelSource,
  type DmState,
} from './request.ts';
export {
  Delivery,
  type IDelivery,
  DELIVERY_KINDS,
  OUTBOX_STATES,
  type DeliveryKind,
  type OutboxState,
} from './delivery.ts';
export { ReactionChoice, type IReactionChoice, REACTION_STATES, type ReactionState } from './reactionChoice.ts';
export { RequestSlot, type IRequestSlot } from './requestSlot.ts';
export { Batch, type IBatch } from './batch.ts';
export { BatchTrack, type IBatchTrack } from './batchTrack.ts';

import { Track } from './track.ts';
import { DownloadJob } from './downloadJob.ts';
import { ProcessingJob } from './processingJob.ts';
import { AnalysisJob } from './analysisJob.ts';
import { Stem } from './stem.ts';
import { AnalysisResult } from './analysisResult.ts';
import { Request } from './request.ts';
import { Delivery } from './delivery.ts';
import { ReactionChoice } from './reactionChoice.ts';
import { RequestSlot } from './requestSlot.ts';
import { Batch } from './batch.ts';
import { BatchTrack } from './batchTrack.ts';

export const ENTITIES = [Track, DownloadJob, ProcessingJob, AnalysisJob, Stem, AnalysisResult, Request, Delivery, ReactionChoice, RequestSlot, Batch, BatchTrack];
