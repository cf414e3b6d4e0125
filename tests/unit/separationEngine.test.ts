import { describe, expect, it } from 'vitest';
import { describeEngine, engineFromOptions, serverEngineLine } from '../../src/domain/separationEngine.ts';

describe('what ran a separation', () => {
  it('reads the backend, precision and device the worker recorded', () => {
    expect(engineFromOptions({ format: 'wav', backend: 'openvino', precision: 'bf16', device: 'cpu' })).toEqual({ backend: 'openvino', precision: 'bf16', device: 'cpu' });
    expect(engineFromOptions({ backend: 'torch', precision: 'f32' })).toEqual({ backend: 'torch', precision: 'f32', device: 'cpu' });
  });

  it('knows nothing of rows written before it was recorded, or of malformed options', () => {
    for (const options of [null, undefined, 'openvino', {}, { backend: 'openvino' }, { backend: 1, precision: 'f32' }]) {
      expect(engineFromOptions(options)).toBeNull();
    }
  });

  it('names it for people', () => {
    expect(describeEngine({ backend: 'openvino', precision: 'bf16', device: 'cpu' })).toBe('OpenVINO bf16 on the CPU');
    expect(describeEngine({ backend: 'torch', precision: 'f32', device: 'cuda' })).toBe('PyTorch f32 on cuda');
    expect(describeEngine({ backend: 'onnx', precision: 'f16', device: 'cpu' })).toBe('onnx f16 on the CPU');
  });

  it('says what this server ran last, or what it will run', () => {
    expect(serverEngineLine({ backend: 'openvino', precision: 'f32', device: 'cpu' })).toBe('Separations here run on OpenVINO f32 on the CPU (the last one).');
    expect(serverEngineLine(null)).toMatch(/^No separation has run here yet/);
  });
});
