/**
 * The one way outside text (titles, artists, albums, file names, failure
 * reasons, anything a chat member, a web server or an API chose) reaches a
 * Discord message: as plain, inert text. Pure.
 *
 * - invisible characters (zero-width, bidi overrides, soft hyphen: Unicode Cf)
 *   are removed, so nothing hides or reorders what is shown;
 * - control characters and line breaks fold to one space (one line, no fake
 *   headings or quotes on a new line);
 * - absolute server paths are cut to their last part (`/srv/sfa/uploads/x.mp3`
 *   -> `x.mp3`): how the server is laid out is nobody's business;
 * - cut to `max` characters before escaping, so an escape is never cut in half;
 * - Discord markdown is backslash-escaped (`* _ ~ \` | > # [ ] ( ) < \`, a
 *   leading `-`), which also breaks masked links `[x](url)` and mention syntax
 *   `<@id>`, `<#id>`, `<t:…>`; `@everyone`/`@here` get a zero-width space after
 *   the `@`, and `scheme://` one after the colon, so no link becomes clickable.
 */

const INVISIBLE = /\p{Cf}/gu;
const CONTROLS = /[\p{Cc}\u2028\u2029\s]+/gu;
// An absolute path: starts a word (after a space, quote, bracket or '='), at least one folder.
const ABSOLUTE_PATH = /(^|[\s"'(=])\/(?:[^\s/"'`]+\/)+([^\s/"'`]*)/g;
const MARKDOWN = /[\\*_~`|>#[\]()<]/g;

export function outsideText(raw: unknown, max = 200): string {
  const text = String(raw ?? '')
    .replace(INVISIBLE, '')
    .replace(CONTROLS, ' ')
    .replace(ABSOLUTE_PATH, (_m, before: string, last: string) => `${before}${last || '…'}`)
    .trim();
  const cut = text.length > max ? `${text.slice(0, Math.max(0, max - 1)).replace(/[\uD800-\uDBFF]$/, '').trimEnd()}…` : text;
  return cut
    .replace(MARKDOWN, (c) => `\\${c}`)
    .replace(/^-/, '\\-')
    .replace(/@(everyone|here)/gi, '@\u200b$1')
    .replace(/([a-z][a-z0-9+.-]*):\/\//gi, '$1:\u200b//');
}

/**
 * Outside text for a code block (a monospace table): markdown is not read
 * there, so it is not escaped (a backslash would show), but a backtick could
 * close the block, so backticks become `ˋ` (U+02CB). Invisible and control
 * characters and server paths are handled as in outsideText; cut to `max`.
 */
export function outsideCodeText(raw: unknown, max = 200): string {
  const text = String(raw ?? '')
    .replace(INVISIBLE, '')
    .replace(CONTROLS, ' ')
    .replace(ABSOLUTE_PATH, (_m, before: string, last: string) => `${before}${last || '…'}`)
    .trim()
    .replace(/`/g, '\u02cb');
  const chars = [...text];
  return chars.length > max ? `${chars.slice(0, Math.max(0, max - 1)).join('').trimEnd()}…` : text;
}
