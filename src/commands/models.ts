/** /models: the separation models from the catalog, with their stems, quality and speed. */
import { SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { DEFAULT_MODEL, MODELS, type ModelInfo } from '../domain/modelCatalog.ts';
import { serverEngineLine } from '../domain/separationEngine.ts';
import { latestEngine } from '../jobs/pipeline/separationEngine.ts';
import type { CommandDeps } from './types.ts';

export const data = new SlashCommandBuilder().setName('models').setDescription('The separation models: their stems, quality and speed');

export const ephemeral = true;

const FASTEST = Math.min(...MODELS.map((m) => m.relativeCost));

/** SDR (signal-to-distortion ratio, dB, higher is cleaner) as the model's authors published it. */
export function qualityOf(model: ModelInfo): string {
  return model.sdr === null ? 'no published SDR' : `${model.sdr.toFixed(1)} dB SDR`;
}

export function speedOf(model: ModelInfo): string {
  const factor = model.relativeCost / FASTEST;
  return factor === 1 ? 'fastest' : `about ${Number(factor.toFixed(1))}x the time of the fastest`;
}

export function modelsText(models: readonly ModelInfo[] = MODELS, defaultModel: string = DEFAULT_MODEL, engineLine?: string): string {
  const lines = [`**Separation models** (default \`${defaultModel}\`)`];
  for (const model of models) {
    lines.push(
      '',
      `${model.emoji} \`${model.name}\`: ${model.label}`,
      `stems: ${model.stems.join(', ')} · quality: ${qualityOf(model)} · speed: ${speedOf(model)}`,
      model.description,
    );
  }
  lines.push('', 'Choose one with `/separate model:`, or react with its emoji on the track message.');
  if (engineLine) lines.push(engineLine);
  return lines.join('\n');
}

export async function execute(interaction: ChatInputCommandInteraction, _input: undefined, deps: CommandDeps): Promise<void> {
  // What the last separation ran on, so users can tell OpenVINO bf16 from f32 or torch (none without a database).
  const engine = deps.bot ? serverEngineLine(await latestEngine(deps.bot.orm.em.fork())) : undefined;
  await interaction.editReply(modelsText(MODELS, DEFAULT_MODEL, engine));
}
