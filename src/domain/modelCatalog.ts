/**
 * The Demucs model catalog. `catalog/models.json` is the single source (the
 * Python engine reads the same file); this module validates it once at load so
 * a bad edit fails every process at start-up instead of mid-job.
 */
import { z } from 'zod';
import rawCatalog from '../../catalog/models.json' with { type: 'json' };

/**
 * Every stem type a model may produce. Closed on purpose: the Stem table's
 * enum has to follow, so a new type means a code change and a migration.
 * `accompaniment` is the "everything but X" half of two-stem mode.
 */
export const KNOWN_STEM_TYPES = ['vocals', 'drums', 'bass', 'other', 'guitar', 'piano', 'accompaniment'] as const;
export type StemType = (typeof KNOWN_STEM_TYPES)[number];

/** Model names come from JSON, so they cannot be a literal union; validate with isModelName. */
export type ModelName = string;

const ModelSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9_]+$/, 'model names are lower-case letters, digits and _'),
  label: z.string().min(1),
  description: z.string().min(1),
  stems: z
    .array(z.enum(KNOWN_STEM_TYPES).exclude(['accompaniment']))
    .min(2)
    .refine((stems) => new Set(stems).size === stems.length, 'stems must not repeat'),
  members: z.array(z.string().regex(/^[0-9a-f]{8}$/, 'members are 8-hex-digit checkpoint signatures')).min(1),
  relativeCost: z.number().positive(),
  /** Approximate size of the published checkpoints in MB (10^6 bytes): shown before the server tells the exact size. */
  downloadMB: z.number().positive(),
  sdr: z.number().positive().nullable(),
  emoji: z.string().min(1),
});

const CatalogSchema = z
  .strictObject({ default: z.string(), models: z.array(ModelSchema).min(1) })
  .superRefine((catalog, ctx) => {
    const names = catalog.models.map((m) => m.name);
    if (new Set(names).size !== names.length) ctx.addIssue({ code: 'custom', message: 'model names must be unique' });
    if (!names.includes(catalog.default)) {
      ctx.addIssue({ code: 'custom', path: ['default'], message: `default "${catalog.default}" is not a listed model` });
    }
    const emojis = catalog.models.map((m) => m.emoji);
    // Reactions pick the model, so two models sharing an emoji would be ambiguous.
    if (new Set(emojis).size !== emojis.length) ctx.addIssue({ code: 'custom', message: 'model emojis must be unique' });
  });

export type ModelInfo = Readonly<Omit<z.infer<typeof ModelSchema>, 'stems' | 'members'>> & {
  readonly stems: readonly StemType[];
  readonly members: readonly string[];
};

/** Validates catalog JSON; exported so tests can exercise the schema on broken input. */
export function parseCatalog(input: unknown): { defaultModel: ModelName; models: readonly ModelInfo[] } {
  const result = CatalogSchema.safeParse(input);
  if (!result.success) throw new Error(`catalog/models.json is invalid:\n${z.prettifyError(result.error)}`);
  const models = result.data.models.map((m) => Object.freeze({ ...m, stems: Object.freeze([...m.stems]), members: Object.freeze([...m.members]) }));
  return { defaultModel: result.data.default, models: Object.freeze(models) };
}

const catalog = parseCatalog(rawCatalog);

export const MODELS: readonly ModelInfo[] = catalog.models;
export const DEFAULT_MODEL: ModelName = catalog.defaultModel;
export const MODEL_NAMES: readonly ModelName[] = Object.freeze(MODELS.map((m) => m.name));

/** Every stem type used by some model, in catalog order, plus `accompaniment`. */
export const STEM_TYPES: readonly StemType[] = Object.freeze([
  ...new Set<StemType>([...MODELS.flatMap((m) => m.stems), 'accompaniment']),
]);

const BY_NAME = new Map(MODELS.map((m) => [m.name, m]));

export function modelNames(): readonly ModelName[] {
  return MODEL_NAMES;
}

export function isModelName(value: unknown): value is ModelName {
  return typeof value === 'string' && BY_NAME.has(value);
}

export function getModel(name: string): ModelInfo | undefined {
  return BY_NAME.get(name);
}

export function isStemType(value: unknown): value is StemType {
  return typeof value === 'string' && (KNOWN_STEM_TYPES as readonly string[]).includes(value);
}

/** User-facing. The echoed name is clipped and stripped to printable ASCII since it may come from chat. */
export function unknownModelMessage(name: string): string {
  const shown = name.replace(/[^\x20-\x7e]/g, '?').slice(0, 40);
  return `Unknown model "${shown}". Valid models: ${MODEL_NAMES.join(', ')} (default ${DEFAULT_MODEL}).`;
}

export class UnknownModelError extends Error {
  readonly model: string;
  override readonly name = 'UnknownModelError';
  constructor(model: string) {
    super(unknownModelMessage(model));
    this.model = model;
  }
}

/** Like getModel, for callers that already validated the name (e.g. a stored job row). */
export function requireModel(name: string): ModelInfo {
  const model = getModel(name);
  if (!model) throw new UnknownModelError(name);
  return model;
}

/**
 * The stems a run produces: the model's own, or `[stem, 'accompaniment']` in
 * two-stem mode (Demucs `--two-stems`), which must name one of the model's stems.
 */
export function stemTypesFor(model: ModelName | ModelInfo, twoStems?: StemType): readonly StemType[] {
  const info = typeof model === 'string' ? requireModel(model) : model;
  if (twoStems === undefined) return info.stems;
  if (!info.stems.includes(twoStems)) {
    throw new RangeError(`model ${info.name} has no "${twoStems}" stem; it has ${info.stems.join(', ')}`);
  }
  return [twoStems, 'accompaniment'];
}

/** Stems in the model's catalog order (its `stems` list); types it does not list after them, by name. */
export function inCatalogOrder<T>(model: ModelName, items: readonly T[], typeOf: (item: T) => string): T[] {
  const order: readonly string[] = getModel(model)?.stems ?? [];
  const rank = (t: string) => order.indexOf(t) + 1 || order.length + 1;
  return [...items].sort((a, b) => rank(typeOf(a)) - rank(typeOf(b)) || typeOf(a).localeCompare(typeOf(b)));
}
