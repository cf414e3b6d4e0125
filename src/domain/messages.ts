/**
 * What the bot says (pure rendering): the request message (track card and one
 * line per stage), the stems messages, the analysis DM and its channel
 * fallback, and the replies to user mistakes. Returns plain objects in
 * Discord's API shape (discord-api-types v10) that fit Discord's limits;
 * text from outside (track titles, artists) is escaped and truncated.
 * Mentions ping only the requester, and only where a ping is wanted.
 */
import { outsideText } from './outsideText.ts';
import { createHash } from 'node:crypto';
import type { APIAllowedMentions, APIEmbed, APIEmbedField, MessageFlags, RESTAPIAttachment } from 'discord-api-types/v10';
import { stemStyle } from './stemStyle.ts';
import { TRANSCODES, type AttachDelivery, type AttachmentPlan, type StemDelivery } from './attachmentPlan.ts';
import type { JobStatus } from './jobStatus.ts';
import { brightnessWord, energyWords, keyWords, round1, tempoWords, type AnalysisFacts } from './analysisWording.ts';
import { DEFAULT_MODEL, getModel, unknownModelMessage, type ModelName } from './modelCatalog.ts';
import { describeModelFetch, type ModelFetchProgress } from './modelFiles.ts';
import { aggregateProgress, type Stage } from './progress.ts';
import { REACTION_OPTIONS } from './reactionChoice.ts';

/** Discord's limits, in UTF-16 code units (never more than Discord's own count). */
export const DISCORD_LIMITS = {
  content: 2000,
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
  author: 256,
  embedTotal: 6000,
} as const;

export const COLORS = { queued: 0x99aab5, running: 0x5865f2, completed: 0x57f287, failed: 0xed4245 } as const;
const EPHEMERAL = 64 as MessageFlags; // MessageFlags.Ephemeral (the enum is a value; this module imports types only)

export interface MessagePayload {
  content?: string;
  embeds?: APIEmbed[];
  allowed_mentions: APIAllowedMentions;
  attachments?: RESTAPIAttachment[];
  flags?: MessageFlags;
}

// ---------------------------------------------------------------------------
// Text helpers

/** Cuts to at most `max` code units with a trailing "…", never inside a surrogate pair. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 0) return '';
  let end = max - 1;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1; // would split an emoji
  return `${text.slice(0, end)}…`;
}

/** Keeps whole lines while they fit and marks the cut with a last "…" line (markdown links stay intact). */
export function truncateLines(text: string, max: number): string {
  if (text.length <= max) return text;
  const lines = text.split('\n');
  const kept: string[] = [];
  let length = 2; // "\n…"
  for (const line of lines) {
    const added = (kept.length ? 1 : 0) + line.length;
    if (length + added > max) break;
    kept.push(line);
    length += added;
  }
  return kept.length ? `${kept.join('\n')}\n…` : truncate(text, max);
}

/** Outside text for a line (src/domain/outsideText.ts: the one escaping function). */
const plain = outsideText;
/** Titles in embed titles: short enough that the escaped text stays inside Discord's 256. */
const TITLE_CHARS = 120;

/** 245 -> "4:05", 3725 -> "1:02:05"; undefined for a missing or invalid duration. */
export function formatClock(seconds: number | null | undefined): string | undefined {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return undefined;
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** "▰▰▰▰▱▱▱▱▱▱ 42%"; full only at 100. */
export function progressBar(percent: number, width = 10): string {
  const p = Number.isFinite(percent) ? Math.max(0, Math.min(100, Math.floor(percent))) : 0;
  const filled = Math.floor((p * width) / 100);
  return `${'▰'.repeat(filled)}${'▱'.repeat(width - filled)} ${p}%`;
}

/** Discord renders <t:unix:R> in the reader's time zone ("in 3 hours"). */
export const relativeTime = (epochMs: number) => `<t:${Math.floor(epochMs / 1000)}:R>`;

const isHttpUrl = (url: string | null | undefined): url is string => !!url && /^https?:\/\/\S+$/i.test(url) && url.length <= 2048;

const mention = (userId: string) => `<@${userId}>`;
const noPings: APIAllowedMentions = { parse: [] };
const pingOnly = (userId: string): APIAllowedMentions => ({ parse: [], users: [userId] });

// ---------------------------------------------------------------------------
// Embed limits

function embedLength(embed: APIEmbed): number {
  return (
    (embed.title?.length ?? 0) +
    (embed.description?.length ?? 0) +
    (embed.footer?.text.length ?? 0) +
    (embed.author?.name.length ?? 0) +
    (embed.fields ?? []).reduce((sum, f) => sum + f.name.length + f.value.length, 0)
  );
}

/**
 * Makes an embed fit every Discord limit: each piece cut to its own limit,
 * at most 25 fields (the last says how many were left out), then the total of
 * 6000 met by shortening the description and dropping fields from the end.
 */
export function fitEmbed(embed: APIEmbed): APIEmbed {
  const out: APIEmbed = { ...embed };
  if (out.title !== undefined) out.title = truncate(out.title, DISCORD_LIMITS.title);
  if (out.description !== undefined) out.description = truncateLines(out.description, DISCORD_LIMITS.description);
  if (out.footer) out.footer = { ...out.footer, text: truncate(out.footer.text, DISCORD_LIMITS.footer) };
  if (out.author) out.author = { ...out.author, name: truncate(out.author.name, DISCORD_LIMITS.author) };
  if (out.fields) {
    let fields: APIEmbedField[] = out.fields.map((f) => ({
      ...f,
      name: truncate(f.name, DISCORD_LIMITS.fieldName) || '\u200b',
      value: truncateLines(f.value, DISCORD_LIMITS.fieldValue) || '\u200b',
    }));
    if (fields.length > DISCORD_LIMITS.fields) {
      const left = fields.length - (DISCORD_LIMITS.fields - 1);
      fields = [...fields.slice(0, DISCORD_LIMITS.fields - 1), { name: '…', value: `and ${left} more` }];
    }
    out.fields = fields;
  }
  let excess = embedLength(out) - DISCORD_LIMITS.embedTotal;
  if (excess > 0 && out.description) {
    out.description = truncateLines(out.description, Math.max(0, out.description.length - excess));
    excess = embedLength(out) - DISCORD_LIMITS.embedTotal;
  }
  while (excess > 0 && out.fields && out.fields.length > 0) {
    out.fields = out.fields.slice(0, -1);
    excess = embedLength(out) - DISCORD_LIMITS.embedTotal;
  }
  if (excess > 0 && out.footer) {
    out.footer = { ...out.footer, text: truncate(out.footer.text, Math.max(0, out.footer.text.length - excess)) };
  }
  return out;
}

const fitContent = (content: string) => truncateLines(content, DISCORD_LIMITS.content);

// ---------------------------------------------------------------------------
// The request message

export interface TrackCard {
  title: string;
  artist?: string | null;
  album?: string | null;
  artUrl?: string | null;
  durationSeconds?: number | null;
  /** The Spotify (or source) page; linked from the title. */
  url?: string | null;
}

export interface StageView {
  status: JobStatus;
  progress: number;
  error?: string | null;
  /** Served from storage instead of computed. */
  cached?: boolean;
  /** The worker is fetching the model before separating (first use). */
  fetch?: ModelFetchProgress;
  /** A slow step within the stage, e.g. "preparing model for this CPU" (first use on this machine). */
  note?: string;
}

export interface RequestView {
  requesterId: string;
  track: TrackCard;
  /** The separation's model; null while the requester may still choose. */
  model: ModelName | null;
  stages: Partial<Record<Stage, StageView>>;
  /** 'choose': the window is open until choiceEndsAt; 'reprocess': other models can be asked for; 'none': no hint. */
  reactions: 'choose' | 'reprocess' | 'none';
  choiceEndsAt?: number | null;
}

const STAGE_LABEL: Record<Stage, { icon: string; name: string }> = {
  download: { icon: '⬇️', name: 'Download' },
  separation: { icon: '🎚️', name: 'Separate' },
  analysis: { icon: '📊', name: 'Analyze' },
};

/** What to do after a stage failed, beside the reason the worker gave. */
export const FAILURE_ADVICE: Record<Stage, string> = {
  download: 'Check the link, or attach the audio file, and run /separate again.',
  separation: 'React with a model to try again, or run /separate again later.',
  analysis: 'The stems are not affected; run /analyze later to try again.',
};

function stageStatus(stage: Stage, view: StageView, download: StageView | undefined): string {
  switch (view.status) {
    case 'queued':
      // Separation and analysis rows wait for the track's audio before they are sent to a worker.
      return stage !== 'download' && download && download.status !== 'completed' ? 'waiting for the download' : 'queued';
    case 'downloading':
    case 'processing':
      if (view.fetch) return describeModelFetch(view.fetch);
      return view.note ? `${progressBar(view.progress)} ${plain(view.note, 100)} (first use, up to a minute)` : progressBar(view.progress);
    case 'completed':
      return view.cached ? 'done (from earlier work)' : 'done';
    case 'failed':
      return `failed: ${plain(view.error ?? 'no reason given', 400)}`;
  }
}

function stageLine(stage: Stage, view: StageView, all: RequestView): string {
  const { icon, name } = STAGE_LABEL[stage];
  const mark = view.status === 'completed' ? '✅' : view.status === 'failed' ? '❌' : icon;
  const model = stage === 'separation' ? ` · ${all.model ? plain(all.model, 40) : 'model not chosen yet'}` : '';
  const line = `${mark} **${name}**${model} — ${stageStatus(stage, view, all.stages.download)}`;
  return view.status === 'failed' ? `${line}\n↳ ${FAILURE_ADVICE[stage]}` : line;
}

function trackByline(track: TrackCard): string {
  const parts = [
    track.artist ? `by **${plain(track.artist, 200)}**` : undefined,
    track.album ? `*${plain(track.album, 200)}*` : undefined,
    formatClock(track.durationSeconds),
  ].filter((p): p is string => !!p);
  return parts.join(' · ');
}

function modelMenu(): string {
  return REACTION_OPTIONS.map(({ model, emoji }) => {
    const info = getModel(model);
    return `${emoji} \`${model}\` — ${info?.description ?? ''}`;
  }).join('\n');
}

export function renderRequestMessage(view: RequestView): MessagePayload {
  const overall = aggregateProgress(view.stages);
  const lines: string[] = [];
  const byline = trackByline(view.track);
  if (byline) lines.push(byline);
  lines.push(`Requested by ${mention(view.requesterId)}`, '');
  for (const stage of ['download', 'separation', 'analysis'] as const) {
    const stageView = view.stages[stage];
    if (stageView) lines.push(stageLine(stage, stageView, view));
  }
  if (view.reactions === 'choose') {
    const until = view.choiceEndsAt ? ` ${relativeTime(view.choiceEndsAt)}` : '';
    lines.push('', `**React to choose the model**${until} (default \`${DEFAULT_MODEL}\`):`, modelMenu());
  } else if (view.reactions === 'reprocess') {
    lines.push('', `React with another model to get its stems too: ${REACTION_OPTIONS.map((o) => `${o.emoji} \`${o.model}\``).join(' · ')}`);
  }
  const footer =
    overall.state === 'completed'
      ? 'Done'
      : overall.state === 'failed'
        ? `Stopped: the ${overall.failedStage} failed`
        : `Overall ${overall.percent}%`;
  const embed: APIEmbed = {
    title: truncate(plain(view.track.title, TITLE_CHARS) || 'Untitled', DISCORD_LIMITS.title),
    description: lines.join('\n'),
    color: COLORS[overall.state],
    footer: { text: footer },
  };
  if (isHttpUrl(view.track.url)) embed.url = view.track.url;
  if (isHttpUrl(view.track.artUrl)) embed.thumbnail = { url: view.track.artUrl };
  return { embeds: [fitEmbed(embed)], allowed_mentions: pingOnly(view.requesterId) };
}

/** What the old reply says once progress moved to a new message (deliveryPolicy's `retire`). */
export function renderMovedNotice(newMessageUrl: string | null): MessagePayload {
  const where = newMessageUrl && isHttpUrl(newMessageUrl) ? `: ${newMessageUrl}` : ' below.';
  return { content: `Progress continues in a new message${where}`, embeds: [], allowed_mentions: noPings };
}

// ---------------------------------------------------------------------------
// The stems

export interface FileLink {
  url: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export interface StemsView {
  requesterId: string;
  track: TrackCard;
  model: ModelName;
  plan: AttachmentPlan;
  /** Served links by stem id; a stem without one (no PUBLIC_BASE_URL) is said to be unavailable. */
  links: Readonly<Record<string, FileLink>>;
  /** The stems came from earlier work (a cached answer). */
  cached?: boolean;
  /** The stem player: its link, or why there is none (omitted: no player line). */
  player?: { link: FileLink } | { unavailable: string };
}

/** The stem player line of a stems message. */
export function playerLine(player: NonNullable<StemsView['player']>): string {
  return 'link' in player ? `🎛️ [Open in the stem player](${player.link.url})` : `🎛️ Stem player: ${player.unavailable}`;
}

export const NO_PLAYER_LINK = 'no link, because this bot has no public file server (PUBLIC_BASE_URL is not set); on its host, `sfa player <track id>` opens it';

export const NO_FILE_SERVER = 'too large to attach, and this bot has no file server (PUBLIC_BASE_URL is not set)';

export function encodingLabel(delivery: AttachDelivery): string {
  return delivery.encoding === 'original' ? delivery.stem.format.toUpperCase() : TRANSCODES[delivery.encoding].label;
}

function stemLine(delivery: StemDelivery, links: StemsView['links']): string {
  // The icon's colour is the stem's lane colour in the stem player.
  const name = `${stemStyle(delivery.stem.name).icon} **${plain(delivery.stem.name, 100)}**`;
  const link = links[delivery.stem.id];
  if (delivery.kind === 'link') {
    if (!link) return `• ${name} — ${NO_FILE_SERVER}`;
    const why = delivery.reason === 'too_large' ? 'too long to attach' : 'too large to attach';
    return `• ${name} — [download ${delivery.stem.format.toUpperCase()}](${link.url}) (${why})`;
  }
  const attached = `• ${name} — attached (${encodingLabel(delivery)})`;
  return delivery.originalAsLink && link ? `${attached} · [full quality ${delivery.stem.format.toUpperCase()}](${link.url})` : attached;
}

/** The stems message's only line when the plan has no stem. */
export const NO_STEMS_LINE = 'The separation produced no stems.';

/**
 * One message per group of attachments in the plan (at least one). The first
 * pings the requester and carries the list; `attachments[i].id` is `i`, the
 * index of `files[i]` in that message's upload.
 */
export function renderStemsMessages(view: StemsView): MessagePayload[] {
  const { plan } = view;
  const lines = plan.stems.map((d) => stemLine(d, view.links));
  const usedLinks = plan.stems
    .filter((d) => d.kind === 'link' || d.originalAsLink)
    .map((d) => view.links[d.stem.id])
    .filter((l): l is FileLink => !!l);
  if (view.player && plan.stems.length > 0) {
    lines.push('', playerLine(view.player));
    if ('link' in view.player) usedLinks.push(view.player.link);
  }
  if (usedLinks.length) {
    const first = Math.min(...usedLinks.map((l) => l.expiresAt));
    lines.push('', `Links expire ${relativeTime(first)}.`);
  }
  if (plan.stems.length === 0) lines.push(NO_STEMS_LINE);
  const groups = plan.messages.length ? plan.messages : [[]];
  const model = plain(view.model, 40);
  const title = truncate(`Stems · ${plain(view.track.title, TITLE_CHARS) || 'Untitled'}`, DISCORD_LIMITS.title);
  return groups.map((group, index) => {
    const attachments = group.map((d, i) => ({ id: i, filename: d.fileName, description: truncate(`${d.stem.name} (${encodingLabel(d)})`, 1024) }));
    if (index > 0) {
      return { content: `Stems ${index + 1}/${groups.length}`, attachments, allowed_mentions: noPings };
    }
    const embed: APIEmbed = {
      title,
      description: lines.join('\n'),
      color: COLORS.completed,
      footer: { text: `${view.model}${view.cached ? ' · from earlier work' : ''}${groups.length > 1 ? ` · part 1/${groups.length}` : ''}` },
    };
    if (isHttpUrl(view.track.url)) embed.url = view.track.url;
    const ready = view.cached ? 'here are the stems' : 'your stems are ready';
    return {
      content: fitContent(`${mention(view.requesterId)} ${ready} (\`${model}\`).`),
      embeds: [fitEmbed(embed)],
      attachments,
      allowed_mentions: pingOnly(view.requesterId),
    };
  });
}

// ---------------------------------------------------------------------------
// The analysis DM

/** The analysis as the engine reported it (see analysisWording.ts). */
export type AnalysisView = AnalysisFacts;

export interface AnalysisMessageInput {
  requesterId: string;
  track: TrackCard;
  analysis: AnalysisView;
  /** The overview picture's attachment name, if one is attached (files[0]). */
  imageFileName?: string | null;
}

export function describeTempo(facts: AnalysisFacts): string {
  const words = tempoWords(facts);
  if (!words) return 'not detected';
  return `**${words.bpm}**${words.alternatives ? ` (or ${words.alternatives})` : ''}`;
}

/** The engine names keys "F# minor"; anything else is shown as escaped plain text. */
const ENGINE_KEY_NAME = /^[A-G]#? (major|minor)$/;
export const keyText = (name: string) => (ENGINE_KEY_NAME.test(name) ? name : plain(name, 60));

export function describeKey(facts: AnalysisFacts): string {
  const words = keyWords(facts);
  if (!words) return 'not detected';
  const camelot = words.camelot ? ` · Camelot ${words.camelot}` : '';
  const maybe = words.maybe ? ` · maybe ${keyText(words.maybe)}` : '';
  return `**${keyText(words.key)}**${camelot}${maybe}`;
}

/** Energy 0..1 (1 + dBFS/60) in words, with the level it stands for. */
export function describeEnergy(energy: number | null): string {
  const words = energyWords(energy);
  return words ? `${words.words} (${words.dbfs} dBFS RMS)` : 'not measured';
}

/** Spectral centroid in words: where the energy sits between bass and treble. */
export function describeBrightness(centroidHz: number | null): string {
  const word = brightnessWord(centroidHz);
  return word && centroidHz !== null ? `${word} (spectral centroid ${Math.round(centroidHz)} Hz)` : 'not measured';
}

function analysisEmbed(input: AnalysisMessageInput): APIEmbed {
  const { analysis, track } = input;
  const embed: APIEmbed = {
    title: truncate(`Analysis · ${plain(track.title, TITLE_CHARS) || 'Untitled'}`, DISCORD_LIMITS.title),
    color: COLORS.completed,
    fields: [
      { name: 'Tempo', value: describeTempo(analysis), inline: true },
      { name: 'Key', value: describeKey(analysis), inline: true },
      { name: 'Energy', value: describeEnergy(analysis.energy), inline: true },
      { name: 'Brightness', value: describeBrightness(analysis.spectralCentroid), inline: true },
    ],
  };
  const byline = trackByline(track);
  const picture = input.imageFileName ? 'Picture attached: the waveform and energy curve, and the chroma (which notes sound when).' : '';
  const description = [byline, picture].filter(Boolean).join('\n');
  if (description) embed.description = description;
  if (isHttpUrl(track.url)) embed.url = track.url;
  if (isHttpUrl(track.artUrl)) embed.thumbnail = { url: track.artUrl };
  if (input.imageFileName) embed.image = { url: `attachment://${input.imageFileName}` };
  return fitEmbed(embed);
}

function imageAttachments(input: AnalysisMessageInput): { attachments?: RESTAPIAttachment[] } {
  return input.imageFileName
    ? { attachments: [{ id: 0, filename: input.imageFileName, description: 'Waveform, energy curve and chroma' }] }
    : {};
}

/** The DM to the requester when the analysis completes. */
export function renderAnalysisDm(input: AnalysisMessageInput): MessagePayload {
  return {
    content: fitContent(`Your analysis of **${plain(input.track.title, 200) || 'Untitled'}** is ready.`),
    embeds: [analysisEmbed(input)],
    ...imageAttachments(input),
    allowed_mentions: noPings,
  };
}

/** In the request's channel when the requester's DMs are closed (Discord 50007). */
export function renderDmFallback(input: AnalysisMessageInput): MessagePayload {
  return {
    content: fitContent(
      `${mention(input.requesterId)} I couldn't send you a DM (your DMs are closed to this server), so here is your analysis. ` +
        'To get it privately next time, allow direct messages from server members in your privacy settings.',
    ),
    embeds: [analysisEmbed(input)],
    ...imageAttachments(input),
    allowed_mentions: pingOnly(input.requesterId),
  };
}

// ---------------------------------------------------------------------------
// User mistakes (ephemeral replies)

export type UserMistake =
  /** A reason from parseSpotifyInput/classifyInput (already user-facing). */
  | { kind: 'bad_input'; reason: string }
  | { kind: 'no_input' }
  | { kind: 'two_inputs' }
  | { kind: 'unknown_model'; model: string }
  | { kind: 'not_audio'; fileName: string }
  | { kind: 'file_too_large'; sizeBytes: number; maxBytes: number }
  | { kind: 'too_long'; durationSeconds: number; maxSeconds: number }
  | { kind: 'over_limit'; message: string };

const megabytes = (bytes: number) => `${round1(bytes / 1_000_000)} MB`;

export function userMistakeText(mistake: UserMistake): string {
  switch (mistake.kind) {
    case 'bad_input':
      return mistake.reason;
    case 'no_input':
      return 'Give me a song: a Spotify track link in `url:`, a direct link to an audio file, or attach the file.';
    case 'two_inputs':
      return 'Give me one song at a time: either a link in `url:` or an attached file, not both.';
    case 'unknown_model':
      return unknownModelMessage(mistake.model);
    case 'not_audio':
      return `The attachment "${plain(mistake.fileName, 80)}" is not an audio file I can read. Attach an MP3, WAV, FLAC, OGG or M4A file.`;
    case 'file_too_large':
      return `That file is ${megabytes(mistake.sizeBytes)}; the limit is ${megabytes(mistake.maxBytes)}. Send a shorter or compressed version.`;
    case 'too_long':
      return `That track is ${formatClock(mistake.durationSeconds) ?? '?'} long; the limit is ${formatClock(mistake.maxSeconds) ?? '?'}. Try a shorter track or an edit of it.`;
    case 'over_limit':
      return mistake.message;
  }
}

/** An ephemeral reply only the user sees; it mentions and pings nobody. */
export function renderUserMistake(mistake: UserMistake): MessagePayload {
  return { content: fitContent(`⚠️ ${userMistakeText(mistake)}`), allowed_mentions: noPings, flags: EPHEMERAL };
}

// ---------------------------------------------------------------------------

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Names a rendered payload for deliveryPolicy and requests.progress_hash: equal content, equal hash, whatever the key order. */
export function payloadHash(payload: MessagePayload): string {
  return createHash('sha256').update(canonicalJson(payload)).digest('hex').slice(0, 32);
}
