/**
 * TypeScript side of docs/engine-protocol.md (the Python side is
 * python/sfa_engine/protocol.py; the names both use are in catalog/engine_protocol.json). Requests are validated before they are sent
 * and every line from the engine is parsed with these schemas, so a drift
 * between the two sides fails loudly in tests instead of silently in a job.
 */
import { z } from 'zod';
import rawProtocol from '../../../catalog/engine_protocol.json' with { type: 'json' };
import { STEM_FORMATS } from '../../domain/audioFormats.ts';

/**
 * The command names, message types and error codes with their meaning:
 * catalog/engine_protocol.json, read by both sides (the engine through
 * python/sfa_engine/protocol_catalog.py). The schemas below must cover exactly
 * its names (tests/engine/protocolCatalog.test.ts).
 */
const Meanings = z.record(z.string().regex(/^[a-z_]+$/), z.string().min(1));
export const ENGINE_PROTOCOL = z.strictObject({ commands: Meanings, events: Meanings, errors: Meanings }).parse(rawProtocol);

export type EngineErrorCode = keyof typeof rawProtocol.errors;
export const ENGINE_ERROR_CODES = Object.keys(ENGINE_PROTOCOL.errors) as [EngineErrorCode, ...EngineErrorCode[]];

export const ANALYSIS_FEATURES = ['tempo', 'key', 'energy', 'spectral', 'mfcc', 'chroma', 'all'] as const;
export const MP3_BITRATES = [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320] as const;

const requestId = z.string().min(1);
const path = z.string().min(1);

export const PingRequest = z.strictObject({ id: requestId, cmd: z.literal('ping') });
export const CancelRequest = z.strictObject({ id: requestId, cmd: z.literal('cancel'), target: requestId });
export const SeparateRequest = z.strictObject({
  id: requestId,
  cmd: z.literal('separate'),
  input: path,
  out_dir: path,
  model: z.string().min(1),
  format: z.enum(STEM_FORMATS).optional(),
  wav_subtype: z.enum(['PCM_16', 'PCM_24', 'FLOAT']).optional(),
  mp3_bitrate: z.union(MP3_BITRATES.map((b) => z.literal(b))).optional(),
  shifts: z.int().min(0).max(20).optional(),
  overlap: z.number().min(0).max(0.9).optional(),
  segment: z.number().min(1).max(600).optional(),
  two_stems: z.string().min(1).optional(),
  max_duration: z.number().positive().optional(),
});
export const AnalyzeRequest = z.strictObject({
  id: requestId,
  cmd: z.literal('analyze'),
  input: path,
  features: z.array(z.enum(ANALYSIS_FEATURES)).min(1).optional(),
  overview_png: path.optional(),
  max_duration: z.number().positive().optional(),
});
export const EngineRequest = z.discriminatedUnion('cmd', [PingRequest, CancelRequest, SeparateRequest, AnalyzeRequest]);

export type PingRequest = z.infer<typeof PingRequest>;
export type CancelRequest = z.infer<typeof CancelRequest>;
export type SeparateRequest = z.infer<typeof SeparateRequest>;
export type AnalyzeRequest = z.infer<typeof AnalyzeRequest>;
export type EngineRequest = z.infer<typeof EngineRequest>;
/** What a caller passes to EngineClient.request: everything but the id, which the client assigns. */
export type EngineCommand =
  | Omit<PingRequest, 'id'>
  | Omit<SeparateRequest, 'id'>
  | Omit<AnalyzeRequest, 'id'>;

// --- messages (engine -> client) -----------------------------------------------

export const ReadyMessage = z.object({
  id: z.null(),
  type: z.literal('ready'),
  version: z.string(),
  device: z.enum(['cpu', 'cuda']),
});
export const ProgressMessage = z.object({
  id: requestId,
  type: z.literal('progress'),
  progress: z.number().min(0).max(100),
  stage: z.string(),
});
export const ResultMessage = z.object({ id: requestId, type: z.literal('result'), result: z.record(z.string(), z.unknown()) });
export const ErrorMessage = z.object({
  id: requestId.nullable(),
  type: z.literal('error'),
  code: z.enum(ENGINE_ERROR_CODES),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export const EngineMessage = z.discriminatedUnion('type', [ReadyMessage, ProgressMessage, ResultMessage, ErrorMessage]);

export type ReadyMessage = z.infer<typeof ReadyMessage>;
export type ProgressMessage = z.infer<typeof ProgressMessage>;
export type ResultMessage = z.infer<typeof ResultMessage>;
export type ErrorMessage = z.infer<typeof ErrorMessage>;
export type EngineMessage = z.infer<typeof EngineMessage>;

// --- results ---------------------------------------------------------------------

export const PingResult = z.object({
  pong: z.literal(true),
  version: z.string(),
  device: z.string(),
  busy: z.string().nullable(),
  models_loaded: z.array(z.string()),
});
export const CancelResult = z.object({ target: z.string(), found: z.boolean() });
export const SeparateResult = z.object({
  model: z.string(),
  stems: z.array(z.object({ name: z.string(), path: z.string(), bytes: z.int().nonnegative() })).min(1),
  duration: z.number().nonnegative(),
  sample_rate: z.int().positive(),
  format: z.enum(STEM_FORMATS),
  /** Samples clipped per stem when an integer format could not hold them (0 = none). */
  clipped: z.record(z.string(), z.int().nonnegative()),
  elapsed_seconds: z.number().nonnegative(),
  device: z.string(),
  /** What ran the network: OpenVINO (CPU) or torch, and at which precision. */
  backend: z.enum(['openvino', 'torch']),
  precision: z.enum(['f32', 'bf16']),
});
/**
 * The AnalysisResult columns (null when not requested or not measurable) plus
 * the open-ended `features` map; further keys are the analyzer's to add.
 */
const column = z.number().nullable();
export const AnalyzeResult = z.looseObject({
  tempo: column,
  key: z.string().nullable(),
  energy: column,
  spectral_centroid: column,
  spectral_rolloff: column,
  zero_crossing_rate: column,
  features: z.record(z.string(), z.unknown()),
});

export type PingResult = z.infer<typeof PingResult>;
export type CancelResult = z.infer<typeof CancelResult>;
export type SeparateResult = z.infer<typeof SeparateResult>;
export type AnalyzeResult = z.infer<typeof AnalyzeResult>;

export const RESULT_SCHEMAS = {
  ping: PingResult,
  separate: SeparateResult,
  analyze: AnalyzeResult,
} as const;
export type ResultFor<C extends EngineCommand> = C extends { cmd: 'ping' }
  ? PingResult
  : C extends { cmd: 'separate' }
    ? SeparateResult
    : AnalyzeResult;

/** Parses one stdout line; throws with the offending line clipped for the log. */
export function parseEngineLine(line: string): EngineMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    throw new Error(`engine wrote a non-JSON line: ${line.slice(0, 200)}`);
  }
  const parsed = EngineMessage.safeParse(raw);
  if (!parsed.success) throw new Error(`engine message does not match the protocol: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
