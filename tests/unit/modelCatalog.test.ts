import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  inCatalogOrder,
  DEFAULT_MODEL,
  MODELS,
  MODEL_NAMES,
  STEM_TYPES,
  UnknownModelError,
  getModel,
  isModelName,
  isStemType,
  modelNames,
  parseCatalog,
  requireModel,
  stemTypesFor,
  unknownModelMessage,
} from '../../src/domain/modelCatalog.ts';

const catalogJson = () =>
  JSON.parse(readFileSync(new URL('../../catalog/models.json', import.meta.url), 'utf8')) as {
    default: string;
    models: Record<string, unknown>[];
  };

describe('model catalog', () => {
  it('lists the four Demucs models, default htdemucs', () => {
    expect(MODELS).toHaveLength(4);
    expect([...MODEL_NAMES]).toEqual(['htdemucs', 'htdemucs_ft', 'htdemucs_6s', 'mdx_extra']);
    expect(modelNames()).toBe(MODEL_NAMES);
    expect(DEFAULT_MODEL).toBe('htdemucs');
    expect(getModel(DEFAULT_MODEL)?.name).toBe('htdemucs');
  });

  it('gives four-stem models vocals, drums, bass and other', () => {
    for (const name of ['htdemucs', 'htdemucs_ft', 'mdx_extra']) {
      expect([...stemTypesFor(name)].sort()).toEqual(['bass', 'drums', 'other', 'vocals']);
    }
  });

  it('gives htdemucs_6s guitar and piano too', () => {
    const stems = stemTypesFor('htdemucs_6s');
    expect(stems).toHaveLength(6);
    expect(stems).toContain('guitar');
    expect(stems).toContain('piano');
    expect(stemTypesFor(requireModel('htdemucs_6s'))).toBe(stems);
  });

  it('puts stems in the model\'s catalog order, unknown types after them by name', () => {
    const rows = ['vocals', 'accompaniment', 'bass', 'zeta', 'other', 'drums'].map((stem_type) => ({ stem_type }));
    expect(inCatalogOrder('htdemucs', rows, (r) => r.stem_type).map((r) => r.stem_type)).toEqual(['drums', 'bass', 'other', 'vocals', 'accompaniment', 'zeta']);
    expect(inCatalogOrder('htdemucs_6s', ['piano', 'vocals', 'guitar', 'drums'], (s) => s)).toEqual(['drums', 'vocals', 'guitar', 'piano']);
    expect(inCatalogOrder('no-such-model', ['vocals', 'bass'], (s) => s)).toEqual(['bass', 'vocals']);
  });

  it('STEM_TYPES is every stem in the catalog plus accompaniment, without repeats', () => {
    expect([...STEM_TYPES].sort()).toEqual(['accompaniment', 'bass', 'drums', 'guitar', 'other', 'piano', 'vocals']);
    expect(STEM_TYPES.at(-1)).toBe('accompaniment');
    for (const s of STEM_TYPES) expect(isStemType(s)).toBe(true);
    expect(isStemType('no_vocals')).toBe(false);
  });

  it('two-stem mode pairs the chosen stem with accompaniment', () => {
    expect(stemTypesFor('htdemucs', 'vocals')).toEqual(['vocals', 'accompaniment']);
    expect(stemTypesFor('htdemucs_6s', 'guitar')).toEqual(['guitar', 'accompaniment']);
    expect(() => stemTypesFor('htdemucs', 'guitar')).toThrow(/htdemucs has no "guitar" stem/);
  });

  it('isModelName and getModel reject unknown and look-alike names', () => {
    for (const bad of ['', 'HTDEMUCS', 'htdemucs ', 'demucs', 'constructor', '__proto__', 'toString', 1, null, undefined]) {
      expect(isModelName(bad)).toBe(false);
      if (typeof bad === 'string') expect(getModel(bad)).toBeUndefined();
    }
    for (const name of MODEL_NAMES) expect(isModelName(name)).toBe(true);
  });

  it('unknown names give an error that lists the valid ones', () => {
    expect(() => requireModel('htdemux')).toThrow(UnknownModelError);
    expect(() => requireModel('htdemux')).toThrow(
      'Unknown model "htdemux". Valid models: htdemucs, htdemucs_ft, htdemucs_6s, mdx_extra (default htdemucs).',
    );
    expect(() => stemTypesFor('nope')).toThrow(UnknownModelError);
    const error = new UnknownModelError('x');
    expect(error.model).toBe('x');
    expect(error.name).toBe('UnknownModelError');
  });

  it('clips and sanitises the echoed name', () => {
    const message = unknownModelMessage(`a\n@everyone${'x'.repeat(100)}`);
    expect(message).not.toContain('\n');
    expect(message).toContain('"a?@everyone');
    expect(message.length).toBeLessThan(160);
  });

  it('exposes labels, costs and distinct reaction emojis', () => {
    expect(requireModel('htdemucs_ft').relativeCost).toBe(4);
    expect(new Set(MODELS.map((m) => m.emoji)).size).toBe(4);
    for (const m of MODELS) expect(m.label.length).toBeGreaterThan(0);
  });

  it('is frozen so no caller can edit the shared catalog', () => {
    expect(Object.isFrozen(MODELS)).toBe(true);
    expect(Object.isFrozen(MODELS[0])).toBe(true);
    expect(Object.isFrozen(MODELS[0]?.stems)).toBe(true);
  });
});

describe('parseCatalog validation', () => {
  it('accepts the shipped file', () => {
    expect(parseCatalog(catalogJson()).models).toHaveLength(4);
  });

  it.each([
    ['a default that is not listed', (c: ReturnType<typeof catalogJson>) => void (c.default = 'nope'), /default "nope"/],
    ['a duplicate name', (c: ReturnType<typeof catalogJson>) => void (c.models[1]!.name = 'htdemucs'), /unique/],
    ['an unknown stem type', (c: ReturnType<typeof catalogJson>) => void (c.models[0]!.stems = ['vocals', 'kazoo']), /stems/],
    ['a repeated stem', (c: ReturnType<typeof catalogJson>) => void (c.models[0]!.stems = ['vocals', 'vocals']), /repeat/],
    ['accompaniment as a model stem', (c: ReturnType<typeof catalogJson>) => void (c.models[0]!.stems = ['vocals', 'accompaniment']), /stems/],
    ['a missing label', (c: ReturnType<typeof catalogJson>) => void delete c.models[0]!.label, /label/],
    ['an unexpected field', (c: ReturnType<typeof catalogJson>) => void (c.models[0]!.stem = 4), /stem/],
    ['a non-positive cost', (c: ReturnType<typeof catalogJson>) => void (c.models[0]!.relativeCost = 0), /relativeCost/],
    ['a shared emoji', (c: ReturnType<typeof catalogJson>) => void (c.models[1]!.emoji = c.models[0]!.emoji), /emoji/],
  ])('rejects %s', (_what, mutate, message) => {
    const broken = catalogJson();
    mutate(broken);
    expect(() => parseCatalog(broken)).toThrow(/catalog\/models\.json is invalid/);
    expect(() => parseCatalog(broken)).toThrow(message);
  });
});
