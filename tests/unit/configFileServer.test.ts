/** The file server's settings: SFA_HTTP_HOST, and SFA_LINK_SECRET as a secret. */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { describeConfig, parseConfig, SECRET_VARIABLES, type Config } from '../../src/config.ts';

const ok = (env: Record<string, string>): Config => {
  const result = parseConfig(env, { cwd: '/srv/sfa', repoRoot: '/opt/stem-forge' });
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return result.config;
};
const problems = (env: Record<string, string>): string[] => {
  const result = parseConfig(env, { cwd: '/srv/sfa', repoRoot: '/opt/stem-forge' });
  return result.ok ? [] : result.problems;
};
const LINK_SECRET = 'f3a9c1d27be04e58a6c3d9e1f0b2a4c6';

describe('file server configuration', () => {
  it('listens on 127.0.0.1:8080 without a link secret by default', () => {
    expect(ok({})).toMatchObject({ httpHost: '127.0.0.1', httpPort: 8080, linkSecret: undefined });
    expect(describeConfig(ok({}))).toMatch(/file server\s+127\.0\.0\.1:8080/);
    expect(describeConfig(ok({}))).toMatch(/link secret\s+not set \(generated under the data dir\)/);
  });

  it('takes an IP address or a host name to listen on', () => {
    for (const host of ['0.0.0.0', '::', '::1', '192.168.1.20', 'localhost', 'bot.internal']) {
      expect(ok({ SFA_HTTP_HOST: host }).httpHost).toBe(host);
    }
    expect(ok({ SFA_HTTP_HOST: '  ' }).httpHost).toBe('127.0.0.1');
  });

  it('refuses anything else, saying what it expected', () => {
    for (const host of ['http://0.0.0.0', '0.0.0.0:8080', 'bad host', '-x']) {
      expect(problems({ SFA_HTTP_HOST: host })).toEqual([
        `SFA_HTTP_HOST: expected an IP address or host name to listen on, e.g. 127.0.0.1 or 0.0.0.0 (got ${JSON.stringify(host)})`,
      ]);
    }
  });

  it('keeps SFA_LINK_SECRET secret: never printed, logged or serialised', () => {
    expect(SECRET_VARIABLES).toContain('SFA_LINK_SECRET');
    const config = ok({ SFA_LINK_SECRET: LINK_SECRET });
    expect(config.linkSecret?.reveal()).toBe(LINK_SECRET);
    for (const text of [describeConfig(config), inspect(config, { depth: 10 }), JSON.stringify(config)]) {
      expect(text).not.toContain(LINK_SECRET);
    }
    expect(describeConfig(config)).toMatch(/link secret\s+set \(redacted\)/);
  });

  it('refuses a short link secret without echoing it', () => {
    const found = problems({ SFA_LINK_SECRET: 'short-secret' });
    expect(found).toEqual(['SFA_LINK_SECRET: expected at least 16 characters without spaces (e.g. the output of `openssl rand -hex 32`)']);
    expect(found.join('\n')).not.toContain('short-secret');
    expect(problems({ SFA_LINK_SECRET: 'has a space in the middle of it' })).toHaveLength(1);
  });
});
