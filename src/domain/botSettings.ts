/**
 * Which attached files the bot fetches itself: only those served under one of
 * the trusted CDN bases (SFA_DISCORD_CDN_BASES, parsed in src/config.ts as
 * config.bot.trustedAttachmentBases). Pure.
 */

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
