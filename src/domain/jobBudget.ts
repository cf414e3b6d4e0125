/**
 * How long a queued job may run before pg-boss treats its worker as lost
 * (expireInSeconds). Pure: sized from the track length and the model's
 * relative cost, generous on purpose — expiry means "the worker is gone",
 * not "the job is slow", and an expired job is failed as "worker lost".
 */
import { getModel } from './modelCatalog.ts';

/** Measured on a 2-core CPU: htdemucs needs ~0.6 s of wall time per second of audio. */
export const SEPARATION_SECONDS_PER_AUDIO_SECOND = 0.6;
/** A worker may fetch the model first (first use): one second per MB, i.e. at least 1 MB/s. */
const MODEL_FETCH_SECONDS_PER_MB = 1;
/** Model load, decoding, writing: paid once per job whatever the length. */
const FIXED_OVERHEAD_SECONDS = 180;
/** Expected time times this = the budget (slower machines, a busy CPU). */
const SAFETY_FACTOR = 3;
const MIN_EXPIRY_SECONDS = 600;
/** pg-boss keeps expireInSeconds in an integer column; a day is plenty for anything sane. */
const MAX_EXPIRY_SECONDS = 86_400;

function clamp(seconds: number): number {
  return Math.min(MAX_EXPIRY_SECONDS, Math.max(MIN_EXPIRY_SECONDS, Math.ceil(seconds)));
}

/** Expected wall time of a separation on the reference machine, in seconds. */
export function expectedSeparationSeconds(durationSeconds: number, model: string): number {
  const cost = getModel(model)?.relativeCost ?? 1; // test models (free names) cost like htdemucs
  return SEPARATION_SECONDS_PER_AUDIO_SECOND * Math.max(0, durationSeconds) * cost;
}

/**
 * expireInSeconds for a separation job. `durationSeconds` unknown (not yet
 * downloaded): assume the longest accepted track.
 */
export function separationExpirySeconds(durationSeconds: number | null, model: string, maxDurationSeconds: number): number {
  const duration = durationSeconds ?? maxDurationSeconds;
  const fetch = (getModel(model)?.downloadMB ?? 0) * MODEL_FETCH_SECONDS_PER_MB;
  return clamp(SAFETY_FACTOR * expectedSeparationSeconds(duration, model) + FIXED_OVERHEAD_SECONDS + fetch);
}

/** Analysis is librosa on the mix: roughly a quarter of real time, plus start-up (numba). */
export function analysisExpirySeconds(durationSeconds: number | null, maxDurationSeconds: number): number {
  const duration = durationSeconds ?? maxDurationSeconds;
  return clamp(SAFETY_FACTOR * 0.25 * duration + FIXED_OVERHEAD_SECONDS);
}

/** Downloads are network-bound; the tools have their own timeouts. */
export const DOWNLOAD_EXPIRY_SECONDS = 1800;
