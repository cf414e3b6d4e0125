/** The pipeline's public surface for front ends (CLI, bot) and process entry points. */
export { requestSeparation, FORMATS, type PipelineContext, type SeparationRequest, type SeparationTicket } from './requestSeparation.ts';
export { requestAnalysis, type AnalysisRequest, type AnalysisTicket } from './requestAnalysis.ts';
export { InputError, parsePipelineInput, type PipelineInput } from './input.ts';
export { followProgress, PROGRESS_CHANNEL, ProgressEvent, type ProgressFollower } from './progressEvents.ts';
export { loadTrackStatus, parseTrackRef, renderTrackStatus, type TrackStatus, type TrackRef } from './trackStatus.ts';
export { createBoss, QUEUE_OPTIONS, type BossOptions } from '../queues/boss.ts';
export { QUEUES, type QueueName } from '../queues/payloads.ts';
export { startWorkers, DEFAULT_CONCURRENCY, type WorkerConcurrency, type StartWorkersOptions } from '../workers/start.ts';
export { startWorkerProcess, spotifyMetadataFor, type WorkerProcess } from '../workers/runtime.ts';
export { cancelTicket, type CancelTicket, type CancelOptions, type CancelResult } from './cancel.ts';
