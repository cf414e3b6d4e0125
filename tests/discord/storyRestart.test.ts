/**
 * A bot restart in the middle of a job: the bot process (`--role bot`) is
 * stopped (SIGTERM) while a separate worker process (`--role worker`) is
 * separating, then started again. The new bot process finds the work that
 * finished while it was down and delivers it: the stems and the DM arrive
 * exactly once, and the request message is brought up to its final state.
 */
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFileOrm, fileDatabaseUrl } from '../support/db.ts';
import type { Orm } from '../../src/db/orm.ts';
import { REPO_ROOT } from '../../src/config.ts';
import { until } from '../support/wait.ts';
import { childEnv, startBotHarness, type BotHarness } from './harness.ts';
import { deliveriesOf, delivered, distinctSong, requestsOf } from './reactionsHelpers.ts';
import { stemAttachments, waitForDm } from './storyHelpers.ts';

const SECONDS = 8;

describe('restarting the bot while the worker runs', () => {
  let bot: BotHarness;
  let orm: Orm;
  let worker: ResultPromise | undefined;
  let workerOut = '';

  beforeAll(async () => {
    orm = await openFileOrm();
    bot = await startBotHarness({ role: 'bot', models: ['htdemucs'], env: { SFA_REACTION_WINDOW_SECONDS: '1' } });
    worker = execa(process.execPath, ['src/main.ts', '--role', 'worker'], {
      cwd: REPO_ROOT,
      env: childEnv({ DATABASE_URL: await fileDatabaseUrl(), SFA_DATA_DIR: bot.dataDir, SFA_MODEL_DIR: bot.modelDir, LOG_LEVEL: 'info' }),
      extendEnv: false,
      reject: false,
      all: true,
    });
    worker.all?.on('data', (chunk: Buffer) => (workerOut += chunk.toString()));
  }, 180_000);

  afterAll(async () => {
    if (process.env.STORY_LOG) (await import('node:fs')).writeFileSync(process.env.STORY_LOG, `${bot?.output() ?? ''}\n--- worker ---\n${workerOut}`);
    worker?.kill('SIGTERM');
    await worker;
    await bot?.close();
    await orm?.close();
  }, 60_000);

  it('delivers stems and DM exactly once after the bot was stopped mid-job', async () => {
    const { fake } = bot;
    const user = fake.createUser('patient');
    const handle = fake.interact({
      user,
      command: 'separate',
      attachmentSizeLimit: 10 * 1024 * 1024,
      attachments: { file: { filename: 'long.wav', data: distinctSong(SECONDS), contentType: 'audio/wav' } },
    });
    await handle.reply(30_000);

    // The window ends (default model) and the worker starts separating; then the bot dies.
    const running = await until('the separation to run', async () => {
      const [r] = await requestsOf(orm, user.id);
      if (!r?.processing_job_id) return undefined;
      const rows = await orm.em.fork().execute<{ status: string }[]>(`select status from processing_jobs where id = ?`, [r.processing_job_id]);
      return rows[0]?.status === 'processing' ? r : undefined;
    }, 180_000);
    expect(running.model).toBe('htdemucs');
    // SIGTERM, as a service manager stops it.
    await bot.restart();

    const dm = await waitForDm(fake, user.id);
    expect(dm.embeds[0]?.title).toMatch(/^Analysis/);
    await delivered(orm, user.id, 180_000);
    await fake.waitUntil('the message to show Done', () => handle.original()?.embeds[0]?.footer?.text === 'Done', 30_000);

    // Exactly once: one stems message with four files, one DM, every outbox row sent on its first attempt.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const stemMessages = handle.followups().filter((m) => m.embeds[0]?.title?.startsWith('Stems'));
    expect(stemMessages).toHaveLength(1);
    expect(stemAttachments(handle.followups())).toHaveLength(4);
    expect(fake.dms(user.id)).toHaveLength(1);
    const [request] = await requestsOf(orm, user.id);
    const rows = await deliveriesOf(orm, request!.id);
    expect(rows.map((d) => `${d.kind}:${d.state}:${d.attempts}`).sort()).toEqual(['dm:sent:1', 'stems:sent:1']);
    expect(bot.output()).toContain('resumed 1 unfinished request(s)');
  }, 240_000);
});
