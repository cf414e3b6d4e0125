/** The bot's settings (SFA_REACTION_WINDOW_SECONDS, SFA_DISCORD_CDN_BASES: config.bot) and which attachment URLs it trusts. */
import { describe, expect, it } from 'vitest';
import { DEFAULTS, parseConfig } from '../../src/config.ts';
import { isTrustedAttachmentUrl } from '../../src/domain/botSettings.ts';

const parseBotSettings = (env: Record<string, string>) => {
  const result = parseConfig(env, { cwd: '/srv/sfa', repoRoot: '/opt/stem-forge' });
  return result.ok ? { ok: true as const, settings: result.config.bot } : result;
};
const DEFAULT_REACTION_WINDOW_SECONDS = DEFAULTS.SFA_REACTION_WINDOW_SECONDS;
const DEFAULT_DISCORD_CDN_BASES = DEFAULTS.SFA_DISCORD_CDN_BASES;

describe('bot settings (parseConfig)', () => {
  it('defaults to a 20 s window and Discord\'s CDN hosts', () => {
    expect(parseBotSettings({})).toEqual({
      ok: true,
      settings: { reactionWindowMs: DEFAULT_REACTION_WINDOW_SECONDS * 1000, trustedAttachmentBases: DEFAULT_DISCORD_CDN_BASES },
    });
    expect(DEFAULT_DISCORD_CDN_BASES).toEqual(['https://cdn.discordapp.com/', 'https://media.discordapp.net/']);
  });

  it('reads the window in seconds (fractions and 0 allowed)', () => {
    expect(parseBotSettings({ SFA_REACTION_WINDOW_SECONDS: '1.5' })).toMatchObject({ ok: true, settings: { reactionWindowMs: 1500 } });
    expect(parseBotSettings({ SFA_REACTION_WINDOW_SECONDS: '0' })).toMatchObject({ ok: true, settings: { reactionWindowMs: 0 } });
  });

  it.for(['-1', 'soon', '3601', '1e3'])('refuses the window %s with the variable named', (value) => {
    const result = parseBotSettings({ SFA_REACTION_WINDOW_SECONDS: value });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems[0]).toMatch(/^SFA_REACTION_WINDOW_SECONDS: expected seconds from 0 to 3600/);
  });

  it('normalises CDN bases to origin + path ending in /', () => {
    const result = parseBotSettings({ SFA_DISCORD_CDN_BASES: 'http://127.0.0.1:4000/attachments, https://cdn.example.org' });
    expect(result).toEqual({ ok: true, settings: { reactionWindowMs: 20_000, trustedAttachmentBases: ['http://127.0.0.1:4000/attachments/', 'https://cdn.example.org/'] } });
  });

  it.for(['ftp://cdn.example.org/', 'https://user:pw@cdn.example.org/', 'https://cdn.example.org/?x=1', 'not a url'])('refuses the base %s', (value) => {
    const result = parseBotSettings({ SFA_DISCORD_CDN_BASES: value });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems[0]).toMatch(/^SFA_DISCORD_CDN_BASES: /);
  });

  it('lists every problem at once', () => {
    const result = parseBotSettings({ SFA_REACTION_WINDOW_SECONDS: 'x', SFA_DISCORD_CDN_BASES: 'ftp://a/' });
    expect(result.ok === false && result.problems.length).toBe(2);
  });
});

describe('isTrustedAttachmentUrl', () => {
  const bases = ['https://cdn.discordapp.com/', 'http://127.0.0.1:4000/attachments/'];
  it.for([
    ['https://cdn.discordapp.com/attachments/1/2/song.mp3?ex=1', true],
    ['http://127.0.0.1:4000/attachments/9/song.wav', true],
    ['http://127.0.0.1:4000/other/song.wav', false],
    ['http://127.0.0.1:4001/attachments/song.wav', false],
    ['https://cdn.discordapp.com.evil.org/attachments/x.mp3', false],
    ['http://cdn.discordapp.com/attachments/x.mp3', false],
    ['https://u:p@cdn.discordapp.com/attachments/x.mp3', false],
    ['not a url', false],
  ] as const)('%s -> %s', ([url, trusted]) => {
    expect(isTrustedAttachmentUrl(url, bases)).toBe(trusted);
  });
});
