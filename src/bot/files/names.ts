/**
 * The name a downloaded stem gets: `<track title slug>-<stem>.<ext>`, e.g.
 * `bjork-joga-vocals.flac`, sent in a Content-Disposition header with both an
 * ASCII `filename` and an RFC 5987 `filename*` (UTF-8) so browsers keep
 * accented and non-Latin titles. Pure; titles are outside text, so nothing of
 * them can reach the header unescaped or make a path.
 */

const MAX_SLUG = 80;

/** Letters and digits of any script, joined by "-"; lower case. */
export function unicodeSlug(text: string, max = MAX_SLUG): string {
  const words = text.normalize('NFKC').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  let slug = '';
  for (const word of words) {
    const next = slug ? `${slug}-${word}` : word;
    if ([...next].length > max) break;
    slug = next;
  }
  return slug || [...(words[0] ?? '')].slice(0, max).join('');
}

/** ASCII only: accents dropped (é -> e), anything else left out. */
export function asciiSlug(text: string, max = MAX_SLUG): string {
  const ascii = text.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  return unicodeSlug(ascii.replace(/[^A-Za-z0-9]+/g, ' '), max);
}

export interface DownloadName {
  /** For `filename*`: may hold any letters. */
  unicode: string;
  /** For `filename`: ASCII letters, digits and "-" / "." only. */
  ascii: string;
}

export function downloadFileName(title: string | null | undefined, stem: string, extension: string): DownloadName {
  const ext = extension.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 8) || 'bin';
  const stemSlug = asciiSlug(stem, 32) || 'stem';
  const unicodeTitle = unicodeSlug(title ?? '');
  const asciiTitle = asciiSlug(title ?? '');
  const join = (t: string) => (t ? `${t}-${stemSlug}.${ext}` : `${stemSlug}.${ext}`);
  return { unicode: join(unicodeTitle), ascii: join(asciiTitle) };
}

/** RFC 5987 / 8187 value: UTF-8 percent-encoded, leaving only attr-char unescaped. */
export function rfc5987(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function contentDisposition(name: DownloadName): string {
  // The ASCII name holds only [a-z0-9.-], so quoting it needs no escapes.
  return `attachment; filename="${name.ascii}"; filename*=UTF-8''${rfc5987(name.unicode)}`;
}
