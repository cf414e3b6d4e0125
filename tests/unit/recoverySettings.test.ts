/** The recovery settings (SFA_HEARTBEAT_SECONDS, SFA_STALE_AFTER_SECONDS, SFA_REAPER_INTERVAL_SECONDS) and which database errors a worker retries. */
import { describe, expect, it } from 'vitest';
import { describeConfig, parseConfig } from '../../src/config.ts';
import { isTransientDbError } from '../../src/jobs/workers/dbRetry.ts';

const parse = (env: Record<string, string>) => parseConfig(env, { cwd: '/srv', repoRoot: '/opt/sfa' });

describe('recovery settings', () => {
  it('default to a heartbeat every 5 s, lost after 180 s, checked every 30 s', () => {
    const result = parse({});
    if (!result.ok) throw new Error(result.problems.join('\n'));
    expect(result.config.recovery).toEqual({ heartbeatSeconds: 5, staleAfterSeconds: 180, reaperIntervalSeconds: 30 });
    expect(Object.isFrozen(result.config.recovery)).toBe(true);
    expect(describeConfig(result.config)).toMatch(/recovery\s+heartbeat every 5 s, lost after 180 s, checked every 30 s/);
  });

  it('are read from the environment', () => {
    const result = parse({ SFA_HEARTBEAT_SECONDS: '1', SFA_STALE_AFTER_SECONDS: '4', SFA_REAPER_INTERVAL_SECONDS: '2' });
    expect(result).toMatchObject({ ok: true, config: { recovery: { heartbeatSeconds: 1, staleAfterSeconds: 4, reaperIntervalSeconds: 2 } } });
  });

  it('SFA_REAPER_INTERVAL_SECONDS=0 runs no reaper in this process', () => {
    const result = parse({ SFA_REAPER_INTERVAL_SECONDS: '0' });
    if (!result.ok) throw new Error(result.problems.join('\n'));
    expect(result.config.recovery.reaperIntervalSeconds).toBe(0);
    expect(describeConfig(result.config)).toMatch(/recovery\s+heartbeat every 5 s, lost after 180 s, no reaper in this process/);
  });

  it('refuse bad values with one message each', () => {
    const result = parse({ SFA_HEARTBEAT_SECONDS: '0', SFA_STALE_AFTER_SECONDS: 'soon', SFA_REAPER_INTERVAL_SECONDS: '-1' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => p.split(':')[0])).toEqual(['SFA_HEARTBEAT_SECONDS', 'SFA_STALE_AFTER_SECONDS', 'SFA_REAPER_INTERVAL_SECONDS']);
    expect(result.problems[0]).toContain('a whole number from 1 to 3600');
  });

  it('refuse a stale threshold under two heartbeats: live jobs would look lost', () => {
    const result = parse({ SFA_HEARTBEAT_SECONDS: '10', SFA_STALE_AFTER_SECONDS: '15' });
    expect(result).toEqual({
      ok: false,
      problems: ['SFA_STALE_AFTER_SECONDS: expected at least twice SFA_HEARTBEAT_SECONDS (10 s), or live jobs would be taken for lost (got 15)'],
    });
    expect(parse({ SFA_HEARTBEAT_SECONDS: '10', SFA_STALE_AFTER_SECONDS: '20' }).ok).toBe(true);
    // Against the default heartbeat too.
    expect(parse({ SFA_STALE_AFTER_SECONDS: '9' }).ok).toBe(false);
  });
});

describe('isTransientDbError', () => {
  const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

  it('retries lost or refused connections, server shutdown/start-up, deadlocks and serialization failures', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', '57P01', '57P03', '08006', '08001', '40P01', '40001']) {
      expect(isTransientDbError(withCode(code)), code).toBe(true);
    }
    expect(isTransientDbError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isTransientDbError(new Error('the database system is starting up'))).toBe(true);
    expect(isTransientDbError(new Error('wrapped', { cause: withCode('ECONNREFUSED') }))).toBe(true);
    expect(isTransientDbError(new AggregateError([withCode('ECONNREFUSED')], 'connect failed'))).toBe(true);
  });

  it('does not retry real errors', () => {
    for (const code of ['23505', '23514', '42P01', '22P02']) expect(isTransientDbError(withCode(code)), code).toBe(false);
    for (const value of [new Error('job status cannot move from failed to completed'), undefined, null, 'ECONNREFUSED', 42]) {
      expect(isTransientDbError(value)).toBe(false);
    }
  });
});
