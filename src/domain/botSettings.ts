/**
 * Bot-only settings read from the environment (pure, validated):
 * - SFA_REACTION_WINDOW_SECONDS: how long the requester may react to choose the
 *   model of a /separate without `model:` (default 20; 0 = the default model at once).
 * - SFA_DISCORD_CDN_BASES: comma-separated origins (+ optional path prefix) of the
 *   CDN that serves attachments of interactions. The bot fetches a user's attached
 *   file itself, and only from these; they default to Discord's CDN hosts. It is
 *   deliberately a list of exact bases, not a switch for private hosts.
 */
export const DEFAULT_REACTION_WINDOW_SECONDS = 20;
export const DEFAULT_DISCORD_CDN_BASES: readonly string[] = ['https://cdn.discordapp.com/', 'https://media.discordapp.net/'];

export interface BotEnvSettings {
  reactionWindowMs: number;
  trustedAttachmentBases: readonly string[];
}

export type BotSettingsResult = { ok: true; settings: BotEnvSettings } | { ok: false; problems: string[] };

function normalizeBase(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password || url.search || url.hash) return undefined;
  return `${url.origin}${url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`}`;
}

export function parseBotSettings(env: Readonly<Record<string, string | undefined>>): BotSettingsResult {
  const problems: string[] = [];
  let windowSeconds = DEFAULT_REACTION_WINDOW_SECONDS;
  const rawWindow = env.SFA_REACTION_WINDOW_SECONDS?.trim();
  if (rawWindow) {
    const n = Number(rawWindow);
    if (!/^\d+(\.\d+)?$/.test(rawWindow) || !Number.isFinite(n) || n > 3600) {
      problems.push(`SFA_REACTION_WINDOW_SECONDS: expected seconds from 0 to 3600, got "${rawWindow.slice(0, 20)}"`);
    } else windowSeconds = n;
  }
  let bases = DEFAULT_DISCORD_CDN_BASES;
  const rawBases = env.SFA_DISCORD_CDN_BASES?.trim();
  if (rawBases) {
    const parts = rawBases.split(',').map((p) => p.trim()).filter(Boolean);
    const parsed = parts.map((p) => ({ p, base: normalizeBase(p) }));
    const bad = parsed.filter((x) => !x.base);
    if (bad.length > 0 || parsed.length === 0) {
      problems.push(`SFA_DISCORD_CDN_BASES: expected comma-separated http(s) base URLs without credentials, query or fragment, got "${rawBases.slice(0, 80)}"`);
    } else bases = parsed.map((x) => x.base!);
  }
  return problems.length ? { ok: false, problems } : { ok: true, settings: { reactionWindowMs: Math.round(windowSeconds * 1000), trustedAttachmentBases: bases } };
}

/** Is this attachment URL served by one of the trusted CDN bases (same origin, under the base path)? */
export function isTrustedAttachmentUrl(raw: string, bases: readonly string[]): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (url.username || url.password) return false;
  return bases.some((b) => {
    const base = new URL(b);
    return url.origin === base.origin && url.pathname.startsWith(base.pathname);
  });
}
