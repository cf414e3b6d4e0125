import { describe, expect, it } from 'vitest';
import { outsideText } from '../../src/domain/outsideText.ts';

const ZW = '\u200b';

describe('outsideText: outside strings become inert, one-line text', () => {
  it.each([
    ['plain text is unchanged', 'Plain Title 2', 'Plain Title 2'],
    ['bold/italic markers', '*NSYNC _x_', '\\*NSYNC \\_x\\_'],
    ['a masked link', '[Verify your account](https://evil.example)', `\\[Verify your account\\]\\(https:${ZW}//evil.example\\)`],
    ['a bare link is not clickable', 'go to https://evil.example now', `go to https:${ZW}//evil.example now`],
    ['an angle-bracket link', '<https://evil.example>', `\\<https:${ZW}//evil.example\\>`],
    ['a user mention', '<@123456789012345678>', '\\<@123456789012345678\\>'],
    ['a role mention', '<@&123>', '\\<@&123\\>'],
    ['a channel mention', '<#123>', '\\<\\#123\\>'],
    ['a timestamp', '<t:1:R>', '\\<t:1:R\\>'],
    ['@everyone', 'hi @everyone', `hi @${ZW}everyone`],
    ['@here, any case', '@HERE now', `@${ZW}HERE now`],
    ['code, strike, spoiler, quote, heading', '`y` ~~z~~ ||s|| > q # h', '\\`y\\` \\~\\~z\\~\\~ \\|\\|s\\|\\| \\> q \\# h'],
    ['a backslash', 'a\\b', 'a\\\\b'],
    ['a leading list/subtext dash', '-# small', '\\-\\# small'],
    ['newlines cannot start a heading or quote', 'Title\n# Big\n> quote', 'Title \\# Big \\> quote'],
    ['control characters fold to a space', 'a\u0000b\u0007c\r\nd\te', 'a b c d e'],
    ['line and paragraph separators fold', 'a\u2028b\u2029c', 'a b c'],
    ['zero-width characters are removed', `ev${ZW}ery\u200cone\u200d \u2060x\ufeff`, 'everyone x'],
    ['a zero-width space cannot rebuild @everyone', `@${ZW}everyone`, `@${ZW}everyone`],
    ['bidi overrides are removed', 'abc\u202egnp.exe', 'abcgnp.exe'],
    ['soft hyphens are removed', 'in\u00advisible', 'invisible'],
    ['an absolute server path keeps only its last part', 'ffprobe failed on /srv/sfa/var/uploads/abc123.mp3: bad', 'ffprobe failed on abc123.mp3: bad'],
    ['a quoted path too', 'cannot open "/home/bot/.config/x.json"', 'cannot open "x.json"'],
    ['a folder path', 'in /var/lib/sfa/ now', 'in … now'],
    ['a path in a link stays (it is the link)', 'https://cdn.example/a/b.mp3', `https:${ZW}//cdn.example/a/b.mp3`],
    ['a relative path stays', 'music/song.mp3', 'music/song.mp3'],
    ['null and undefined are empty', null, ''],
    ['numbers become text', 42, '42'],
  ])('%s', (_what, input, expected) => {
    expect(outsideText(input)).toBe(expected);
  });

  it('cuts to the limit before escaping, so an escape is never cut in half', () => {
    expect(outsideText('abcdefghij', 5)).toBe('abcd…');
    expect(outsideText('****', 3)).toBe('\\*\\*…');
    expect(outsideText('x'.repeat(5000)).length).toBe(200);
    expect(outsideText('😀'.repeat(10), 4)).toBe('😀…'); // never half a surrogate pair
  });

  it('the Spotify title from the issue renders as text, not a link or a ping', () => {
    const title = `[Verify your account](https://evil.example) @everyone <@1> ${ZW}**now**`;
    const out = outsideText(title);
    expect(out).not.toMatch(/(^|[^\\])\[/);
    expect(out).not.toMatch(/(^|[^\\])</);
    expect(out).not.toContain('https://');
    expect(out).not.toMatch(/@everyone/);
  });
});
