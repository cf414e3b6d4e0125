/**
 * One argument convention for every `sfa` subcommand (src/cli/args.ts):
 * `--opt=value` and `--opt value`, `--` ends the options (a file named
 * "-x.wav" is an argument), unknown options are refused with the
 * subcommand's usage (exit 2), and `sfa --version`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../src/cli/args.ts';
import { parseArgs as parseAnalyzeArgs } from '../../src/cli/commands/analyze.ts';
import { parseGcArgs } from '../../src/cli/commands/gc.ts';
import { parseSeparateArgs } from '../../src/cli/commands/separate.ts';
import { main } from '../../src/cli/main.ts';
import { REPO_ROOT } from '../../src/config.ts';
import { runCaptured } from '../support/inProcess.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'sfa-args-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `sfa <args>` in this process with `env`, capturing what it prints. */
const sfa = (args: string[], env: Record<string, string | undefined> = {}) => runCaptured(() => main(args), env);

describe('parseCommandLine', () => {
  const options = { out: { type: 'string' }, json: { type: 'boolean' } } as const;
  const rule = { min: 0, max: 2, name: 'files' };

  it('takes --opt value and --opt=value alike', () => {
    expect(parseCommandLine(['--out', 'a', 'x'], options, rule)).toEqual({ ok: true, options: { values: { out: 'a' }, positionals: ['x'] } });
    expect(parseCommandLine(['x', '--out=a'], options, rule)).toEqual({ ok: true, options: { values: { out: 'a' }, positionals: ['x'] } });
  });

  it('ends the options at --', () => {
    expect(parseCommandLine(['--json', '--', '--out', '-x.wav'], options, rule)).toEqual({ ok: true, options: { values: { json: true }, positionals: ['--out', '-x.wav'] } });
  });

  it('refuses unknown options, a value for a flag, and too many or too few arguments', () => {
    expect(parseCommandLine(['--force'], options, rule)).toMatchObject({ ok: false, message: expect.stringContaining("Unknown option '--force'") });
    expect(parseCommandLine(['--json=yes'], options, rule)).toMatchObject({ ok: false, message: expect.stringContaining("'--json' does not take an argument") });
    expect(parseCommandLine(['a', 'b', 'c'], options, rule)).toEqual({ ok: false, message: "unexpected argument 'c' (expected at most 2 files)" });
    expect(parseCommandLine([], options, { ...rule, min: 1 })).toEqual({ ok: false, message: 'missing files' });
    expect(parseCommandLine(['-h'], options, rule)).toEqual({ ok: 'help' });
  });
});

describe('every subcommand', () => {
  it('separate: --model=M and -- before a file named like an option', () => {
    expect(parseSeparateArgs(['--model=htdemucs_6s', '--format=flac', '--', '-song.wav'])).toEqual({
      ok: true,
      options: { input: '-song.wav', model: 'htdemucs_6s', format: 'flac', json: false, noWorker: false },
    });
    expect(parseSeparateArgs(['-song.wav'])).toMatchObject({ ok: false, message: expect.stringContaining("Unknown option '-s'") });
  });

  it('analyze: `sfa analyze -- -my-file.wav` and --features=LIST', () => {
    expect(parseAnalyzeArgs(['--features=tempo,key', '--png', 'o.png', '--', '-my-file.wav'])).toEqual({
      ok: true,
      options: { file: '-my-file.wav', features: ['tempo', 'key'], json: false, png: 'o.png' },
    });
    expect(parseAnalyzeArgs(['--', '--json'])).toMatchObject({ ok: true, options: { file: '--json', json: false } });
    expect(parseAnalyzeArgs(['--bpm', 'a.wav'])).toMatchObject({ ok: false, message: expect.stringContaining("Unknown option '--bpm'") });
  });

  it('gc: --max-age=N, and -- leaves nothing it could take', () => {
    expect(parseGcArgs(['--max-age=3', '--grace', '0', '--dry-run', '--'])).toMatchObject({ ok: true, options: { maxAgeMs: 3 * 86_400_000, graceMs: 0, dryRun: true } });
    expect(parseGcArgs(['--', '--dry-run'])).toEqual({ ok: false, message: "unexpected argument '--dry-run'" });
  });

  it('status: the argument after -- is a track reference, --json=x is refused with the usage', async () => {
    const ref = await sfa(['status', '--json', '--', '-not-a-track']);
    expect(ref.code).toBe(2);
    expect(ref.stderr).toMatch(/^sfa status: Expected a track id/);
    const bad = await sfa(['status', '--json=1', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("'--json' does not take an argument");
    expect(bad.stderr).toContain('usage: sfa status');
  });

  it('db: `db -- migrate` is the subcommand; anything after it is refused', async () => {
    const config = await sfa(['db', '--', 'migrate'], { DATABASE_URL: 'mysql://root@127.0.0.1/sfa' });
    expect(config.code).toBe(2);
    expect(config.stderr).toContain('DATABASE_URL: expected a postgres://'); // parsed, then the configuration was checked
    const extra = await sfa(['db', 'migrate', '--', '--force']);
    expect(extra.code).toBe(2);
    expect(extra.stderr).toContain("unexpected argument '--force'");
    expect(extra.stderr).toContain('usage: sfa db migrate');
  });

  it('discord: --guild=ID reaches the check of the id; unknown options get the usage', async () => {
    const guild = await sfa(['discord', 'register', '--guild=12'], { DISCORD_TOKEN: undefined });
    expect(guild.code).toBe(2);
    expect(guild.stderr).toContain('--guild expects a server id');
    const unknown = await sfa(['discord', 'register', '--everywhere']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--everywhere'");
    expect(unknown.stderr).toContain('usage: sfa discord register');
  });

  it('models: --dir=D and -- for download, check and list', async () => {
    const download = await sfa(['models', 'download', `--dir=${dir}`, '--', '-x']);
    expect(download.code).toBe(2);
    expect(download.stderr).toContain('Unknown model "-x"');
    const check = await sfa(['models', 'check', '--', 'htdemucs_6s'], { SFA_MODEL_DIR: dir });
    expect(check.code).toBe(1);
    expect(check.stdout).toContain('htdemucs_6s: NOT INSTALLED. Run `npx sfa models download htdemucs_6s`');
    const list = await sfa(['models', 'list', '--json=yes']);
    expect(list.code).toBe(2);
    expect(list.stderr).toContain('usage: sfa models list');
    const make = await sfa(['models', 'make-test-model', '--name=htdemucs', '--size=huge', `--dir=${dir}`]);
    expect(make.code).toBe(2);
    expect(make.stderr).toContain('--size must be tiny or full');
  });

  it('models prepare: -- before a name that looks like an option, unknown options get the usage', async () => {
    const dashed = await sfa(['models', 'prepare', '--', '-x']);
    expect(dashed.code).toBe(2);
    expect(dashed.stderr).toContain('Unknown model "-x"');
    const unknown = await sfa(['models', 'prepare', '--fast', 'htdemucs']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--fast'");
    expect(unknown.stderr).toContain('usage: sfa models');
  });

  it('player: -- before the id, --serve=x refused, unknown options get the usage', async () => {
    const dashed = await sfa(['player', '--', '-0000']);
    expect(dashed.code).toBe(2);
    expect(dashed.stderr).toContain('"-0000" is not a track, request or stem set id');
    const valued = await sfa(['player', '--serve=yes', '00000000-0000-4000-8000-000000000000']);
    expect(valued.code).toBe(2);
    expect(valued.stderr).toContain("'--serve' does not take an argument");
    expect(valued.stderr).toContain('usage: sfa player');
    const unknown = await sfa(['player', '--open', '00000000-0000-4000-8000-000000000000']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--open'");
  });

  it('sfa --version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(await sfa(['--version'])).toEqual({ code: 0, stdout: `sfa ${pkg.version}\n`, stderr: '' });
  });
});
