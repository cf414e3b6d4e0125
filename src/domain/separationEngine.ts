/**
 * What ran a separation: the separate worker records the engine's backend,
 * precision and device in the processing job's options. Pure reading and wording.
 */
export interface SeparationEngine {
  backend: string;
  precision: string;
  device: string;
}

/** The engine recorded in a processing job's options; null for rows written before it was recorded. */
export function engineFromOptions(options: unknown): SeparationEngine | null {
  if (!options || typeof options !== 'object') return null;
  const o = options as Record<string, unknown>;
  if (typeof o.backend !== 'string' || typeof o.precision !== 'string') return null;
  return { backend: o.backend, precision: o.precision, device: typeof o.device === 'string' ? o.device : 'cpu' };
}

const BACKEND_NAMES: Record<string, string> = { openvino: 'OpenVINO', torch: 'PyTorch' };

/** "OpenVINO bf16 on the CPU", "PyTorch f32 on cuda". */
export function describeEngine(engine: SeparationEngine): string {
  const where = engine.device === 'cpu' ? 'the CPU' : engine.device;
  return `${BACKEND_NAMES[engine.backend] ?? engine.backend} ${engine.precision} on ${where}`;
}

/** The /models line about this server: what the last separation ran on, or what the default is. */
export function serverEngineLine(last: SeparationEngine | null): string {
  return last
    ? `Separations here run on ${describeEngine(last)} (the last one).`
    : 'No separation has run here yet; on a CPU they run on OpenVINO, in bf16 where the CPU has it natively.';
}
