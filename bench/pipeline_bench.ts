/**
 * Pipeline benchmarks (results in docs/benchmarks.md, "Pipeline"):
 *
 *   npx tsx bench/pipeline_bench.ts [--trials 3] [--seconds 30] [--size tiny|full] [--keep]
 *
 * (a) `sfa separate` end to end on a generated input (default 30 s) vs the engine
 *     alone doing the same work: one fresh `python -m sfa_engine` running the
 *     separate request and the analyze request the pipeline's workers send (same
 *     model, format, features). Both include the engine's start-up. The CLI also
 *     pays for Node/ORM start-up, migrations, pg-boss, the queue hops and copying
 *     the stems out. One uncounted warm-up run of each first; then the trials
 *     alternate between the two; medians are reported, wall and CPU seconds.
 *     With --size full, `python -m demucs` (its defaults, same model files and
 *     input) is timed in the same rotation too: the user's alternative. It only
 *     separates; `sfa separate` also downloads, analyses and stores.
 * (b) A repeated request for finished work: the whole `sfa separate` process
 *     (served from storage), and, inside one open session, requestSeparation plus
 *     following the rows until they are settled (what the CLI does after start-up).
 * (c) Jobs per second through an empty pipeline:
 *     (c1) pg-boss round trips: N jobs on a queue with the pipeline's options
 *          (exclusive policy, singletonKey per job) and a no-op handler, worked
 *          as the CLI works its queues (batchSize 1, 0.5 s polling), from the first
 *          send to the last completion;
 *     (c2) the real download stage: N one-second WAV files requested with
 *          requestAnalysis (a download row and an analysis row each, one
 *          transaction), the download worker (claim, ffprobe + decode check,
 *          copy into storage, completion + release of the analysis row) at its
 *          default concurrency 2; from the first request to the last completed row.
 *
 * Needs PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres):
 * a database sfa_bench_<random> is created on that server and dropped at the end.
 * The machine is shared: the load average is printed before and after, and (a)
 * compares numbers measured in the same run.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { parseConfig, REPO_ROOT, type Config } from '../src/config.ts';
import { migrate } from '../src/db/migrate.ts';
import { createOrm } from '../src/db/orm.ts';
import { EngineClient } from '../src/jobs/engine/client.ts';
import { createAudioSources } from '../src/jobs/download/sources.ts';
import { requestAnalysis } from '../src/jobs/pipeline/requestAnalysis.ts';
import { requestSeparation } from '../src/jobs/pipeline/requestSeparation.ts';
import { createBoss } from '../src/jobs/queues/boss.ts';
import { StoragePaths } from '../src/jobs/storage/paths.ts';
import type { WorkerContext } from '../src/jobs/workers/context.ts';
import { startWorkers } from '../src/jobs/workers/start.ts';
import { openSession } from '../src/cli/session.ts';
import { separationRows } from '../src/cli/commands/separate.ts';
import { PYTHON, toneWav } from '../tests/pipeline/helpers.ts';
import { createDatabase, dropDatabase, serverUrl, uniqueDatabaseName, withDatabase } from '../tests/support/db.ts';

const { values: args } = parseArgs({
  options: {
    trials: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '30' },
    size: { type: 'string', default: 'tiny' },
    jobs: { type: 'string', default: '200' },
    downloads: { type: 'string', default: '20' },
    keep: { type: 'boolean', default: false },
  },
});
const TRIALS = Number(args.trials);
const SECONDS = Number(args.seconds);
const SFA = path.join(REPO_ROOT, 'bin/sfa.js');

const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
const round = (x: number, digits = 2) => Number(x.toFixed(digits));
const log = (m: string) => process.stderr.write(`${m}\n`);

/** CPU seconds (user + system) a live process has used, from /proc (its threads included). */
function cpuSecondsOf(pid: number | undefined): number {
  if (!pid) return Number.NaN;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
}

/** `sfa ...` as a user runs it, under /usr/bin/time: wall and CPU seconds of the whole process tree. */
async function timedSfa(argv: string[], env: Record<string, string>): Promise<{ wall: number; cpu: number; stdout: string }> {
  const r = await execa('/usr/bin/time', ['-f', 'TIME %e %U %S', process.execPath, SFA, ...argv], { env, extendEnv: true, reject: false });
  const m = /TIME ([\d.]+) ([\d.]+) ([\d.]+)\s*$/.exec(String(r.stderr));
  if (r.exitCode !== 0 || !m) throw new Error(`sfa ${argv.join(' ')} failed (${r.exitCode}):\n${String(r.stderr).slice(-2000)}`);
  return { wall: Number(m[1]), cpu: Number(m[2]) + Number(m[3]), stdout: String(r.stdout) };
}

/** The Demucs CLI as its users run it (defaults: shifts 1, overlap 0.25), same model files: wall and CPU of the process tree. */
async function demucsCli(input: string, out: string, modelDir: string): Promise<{ wall: number; cpu: number }> {
  const r = await execa('/usr/bin/time', ['-f', 'TIME %e %U %S', PYTHON, '-m', 'demucs', '--repo', modelDir, '-n', 'htdemucs', '-d', 'cpu', '-o', out, input], { reject: false });
  const m = /TIME ([\d.]+) ([\d.]+) ([\d.]+)\s*$/.exec(String(r.stderr));
  if (r.exitCode !== 0 || !m) throw new Error(`python -m demucs failed (${r.exitCode}):\n${String(r.stderr).slice(-2000)}`);
  return { wall: Number(m[1]), cpu: Number(m[2]) + Number(m[3]) };
}

/** The engine alone: a fresh engine process, the separate and analyze requests the workers send. */
async function engineAlone(input: string, out: string, modelDir: string): Promise<{ wall: number; cpu: number; separateDone: number; analyzeDone: number }> {
  const t0 = performance.now();
  const since = () => (performance.now() - t0) / 1000;
  const engine = new EngineClient({ python: PYTHON, env: { SFA_MODEL_DIR: modelDir, SFA_DEVICE: 'cpu' }, logger: { info: () => undefined, warn: log, error: log } });
  try {
    await engine.start();
    // Sent together, as the separate and analyze workers do once the download is in; the engine runs them in order.
    const [separateDone, analyzeDone] = await Promise.all([
      engine.request({ cmd: 'separate', input, out_dir: path.join(out, 'stems'), model: 'htdemucs', format: 'wav', max_duration: 1200 }).then(since),
      engine.request({ cmd: 'analyze', input, features: ['all'], overview_png: path.join(out, 'overview.png'), max_duration: 1200 }).then(since),
    ]);
    const wall = since();
    const cpu = cpuSecondsOf(engine.pid);
    return { wall, cpu, separateDone, analyzeDone };
  } finally {
    await engine.close();
  }
}

async function main(): Promise<void> {
  const adminUrl = serverUrl(process.env.DATABASE_URL);
  const dbName = uniqueDatabaseName('sfa_bench');
  const work = mkdtempSync(path.join(tmpdir(), 'sfa-pipeline-bench-'));
  await createDatabase(adminUrl, dbName);
  const dbUrl = withDatabase(adminUrl, dbName);
  const loadBefore = loadAverage();
  const results: Record<string, unknown> = { loadBefore, trials: TRIALS, inputSeconds: SECONDS, model: `htdemucs (${args.size} random weights, make-test-model)` };
  try {
    await migrate(dbUrl);
    const modelDir = path.join(work, 'models');
    await execa(PYTHON, ['-m', 'sfa_engine.make_test_model', '--name', 'htdemucs', '--size', args.size!, '--dir', modelDir], { cwd: path.join(REPO_ROOT, 'python') });
    const dataDir = path.join(work, 'data');
    const env = { DATABASE_URL: dbUrl, SFA_DATA_DIR: dataDir, SFA_MODEL_DIR: modelDir, SFA_DEVICE: 'cpu' };
    const source = await toneWav(path.join(work, 'input.wav'), SECONDS, 220);

    // (a) end to end vs the engine alone, alternating.
    const cli: { wall: number; cpu: number }[] = [];
    const alone: { wall: number; cpu: number; separateDone: number; analyzeDone: number }[] = [];
    const demucs: { wall: number; cpu: number }[] = [];
    const contenders = args.size === 'full' ? ['engine', 'cli', 'demucs'] : ['engine', 'cli'];
    // Warm-up, not counted: the first engine of a run pays for disk caches (torch, numba's cache).
    copyFileSync(source, path.join(work, 'warmup.wav'));
    await engineAlone(path.join(work, 'warmup.wav'), path.join(work, 'warmup-alone'), modelDir);
    await timedSfa(['separate', path.join(work, 'warmup.wav'), '--out', path.join(work, 'warmup-out'), '--json'], env);
    for (let i = 0; i < TRIALS; i++) {
      const input = path.join(work, `trial${i}.wav`); // a new file is a new track: nothing to reuse
      copyFileSync(source, input);
      const order = [...contenders.slice(i % contenders.length), ...contenders.slice(0, i % contenders.length)];
      for (const which of order) {
        if (which === 'demucs') {
          const r = await demucsCli(input, path.join(work, `demucs${i}`), modelDir);
          demucs.push(r);
          log(`(a) trial ${i + 1}: python -m demucs ${r.wall.toFixed(2)} s wall, ${r.cpu.toFixed(2)} s CPU (load ${loadAverage()})`);
        } else if (which === 'engine') {
          const r = await engineAlone(input, path.join(work, `alone${i}`), modelDir);
          alone.push(r);
          log(`(a) trial ${i + 1}: engine alone ${r.wall.toFixed(2)} s wall, ${r.cpu.toFixed(2)} s CPU (load ${loadAverage()})`);
        } else {
          const r = await timedSfa(['separate', input, '--out', path.join(work, `out${i}`), '--json'], env);
          cli.push(r);
          log(`(a) trial ${i + 1}: sfa separate ${r.wall.toFixed(2)} s wall, ${r.cpu.toFixed(2)} s CPU (load ${loadAverage()})`);
        }
      }
    }
    const cliWall = median(cli.map((r) => r.wall));
    const aloneWall = median(alone.map((r) => r.wall));
    results.endToEnd = {
      sfaSeparate: { wallMedian: round(cliWall), cpuMedian: round(median(cli.map((r) => r.cpu))), walls: cli.map((r) => round(r.wall)) },
      engineAlone: {
        wallMedian: round(aloneWall),
        cpuMedian: round(median(alone.map((r) => r.cpu))),
        walls: alone.map((r) => round(r.wall)),
        separateDoneAtMedian: round(median(alone.map((r) => r.separateDone))),
        analyzeDoneAtMedian: round(median(alone.map((r) => r.analyzeDone))),
      },
      ratio: round(cliWall / aloneWall, 3),
      differenceSeconds: round(cliWall - aloneWall),
      cpuRatio: round(median(cli.map((r) => r.cpu)) / median(alone.map((r) => r.cpu)), 3),
      ...(demucs.length
        ? {
            demucsCli: { wallMedian: round(median(demucs.map((r) => r.wall))), cpuMedian: round(median(demucs.map((r) => r.cpu))), walls: demucs.map((r) => round(r.wall)) },
            sfaSeparateVsDemucsCli: { wall: round(cliWall / median(demucs.map((r) => r.wall)), 3), cpu: round(median(cli.map((r) => r.cpu)) / median(demucs.map((r) => r.cpu)), 3) },
          }
        : {}),
    };

    // (b) the same request again: served from storage.
    const repeated: number[] = [];
    const repeatedCpu: number[] = [];
    for (let i = 0; i < TRIALS; i++) {
      const r = await timedSfa(['separate', path.join(work, 'trial0.wav'), '--out', path.join(work, 'again'), '--json'], env);
      const fromStorage = (JSON.parse(r.stdout) as { fromStorage: Record<string, boolean> }).fromStorage;
      if (!Object.values(fromStorage).every(Boolean)) throw new Error(`repeat was not served from storage: ${JSON.stringify(fromStorage)}`);
      repeated.push(r.wall);
      repeatedCpu.push(r.cpu);
    }
    const parsed = parseConfig(env);
    if (!parsed.ok) throw new Error(parsed.problems.join('; '));
    const config: Config = parsed.config;
    const session = await openSession({ config, log: { info: () => undefined, warn: log, error: log } });
    const inSession: number[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const t0 = performance.now();
        const ticket = await requestSeparation(session.pipeline, { input: path.join(work, 'trial0.wav'), model: 'htdemucs', format: 'wav' });
        const outcome = await session.follower.follow(separationRows(ticket), () => undefined);
        inSession.push((performance.now() - t0) / 1000);
        if (!outcome.stages.separate?.stored) throw new Error('in-session repeat was not served from storage');
      }
    } finally {
      await session.close();
    }
    results.repeated = {
      sfaSeparateProcess: { wallMedian: round(median(repeated)), cpuMedian: round(median(repeatedCpu)), walls: repeated.map((w) => round(w)) },
      requestAndFollowInSession: { medianMs: round(median(inSession) * 1000, 1), p95Ms: round(quantile(inSession, 0.95) * 1000, 1), n: inSession.length },
    };
    log(`(b) repeat: process ${median(repeated).toFixed(2)} s, in session ${(median(inSession) * 1000).toFixed(1)} ms`);

    // (c1) pg-boss round trips with a no-op handler.
    const N = Number(args.jobs);
    const schema = `pgboss_bench_${randomBytes(3).toString('hex')}`;
    const boss = await createBoss(dbUrl, { schema, supervise: false, maxConnections: 4 });
    const roundTrips: Record<string, number> = {};
    try {
      for (const concurrency of [1, 2]) {
        const queue = `bench_noop_${concurrency}`;
        await boss.createQueue(queue, { policy: 'exclusive' });
        let done = 0;
        let finished!: () => void;
        const all = new Promise<void>((resolve) => (finished = resolve));
        await boss.work(queue, { batchSize: 1, localConcurrency: concurrency, pollingIntervalSeconds: 0.5 }, async () => {
          if (++done === N) finished();
        });
        const t0 = performance.now();
        for (let i = 0; i < N; i++) await boss.send(queue, { i }, { singletonKey: `k${i}` });
        const sentAt = performance.now();
        await all;
        const seconds = (performance.now() - t0) / 1000;
        roundTrips[`concurrency${concurrency}`] = round(N / seconds, 1);
        roundTrips[`concurrency${concurrency}SendPerSecond`] = round(N / ((sentAt - t0) / 1000), 1);
        await boss.offWork(queue, { wait: true });
        log(`(c1) ${N} no-op jobs, local concurrency ${concurrency}: ${(N / seconds).toFixed(1)} jobs/s`);
      }
    } finally {
      await boss.stop({ graceful: true });
    }

    // (c2) the real download stage on short files.
    const D = Number(args.downloads);
    const short = await toneWav(path.join(work, 'short.wav'), 1, 330);
    const files = Array.from({ length: D }, (_, i) => {
      const f = path.join(work, 'short', `s${i}.wav`);
      mkdirSync(path.dirname(f), { recursive: true });
      copyFileSync(short, f);
      return f;
    });
    const orm = await createOrm(dbUrl);
    const boss2 = await createBoss(dbUrl, { schema: `${schema}_dl`, supervise: false, maxConnections: 4 });
    const engine = new EngineClient({ python: PYTHON }); // lazy: never started, downloads do not use it
    const ctx: WorkerContext = {
      orm,
      boss: boss2,
      paths: new StoragePaths(path.join(work, 'data-dl')),
      maxDurationSeconds: 1200,
      sources: await createAudioSources({ maxFileMb: 200, maxDurationSeconds: 1200 }),
      engine,
      log: { info: () => undefined, warn: log, error: log },
    };
    const workers = await startWorkers(ctx, { queues: ['download'], pollingIntervalSeconds: 0.5 });
    try {
      const t0 = performance.now();
      const tickets = [];
      for (const f of files) tickets.push(await requestAnalysis({ orm, boss: boss2, maxDurationSeconds: 1200 }, { input: f }));
      const ids = tickets.map((t) => t.downloadJobId);
      for (;;) {
        const rows = await orm.em.fork().execute<{ n: string }[]>(`select count(*) as n from download_jobs where id in (?) and status = 'completed'`, [ids]);
        const failed = await orm.em.fork().execute<{ n: string }[]>(`select count(*) as n from download_jobs where id in (?) and status = 'failed'`, [ids]);
        if (Number(failed[0]!.n) > 0) throw new Error('a download failed');
        if (Number(rows[0]!.n) === D) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const seconds = (performance.now() - t0) / 1000;
      results.jobsPerSecond = { pgBossNoop: { n: N, ...roundTrips }, downloadStage: { n: D, jobsPerSecond: round(D / seconds, 2), seconds: round(seconds) } };
      log(`(c2) ${D} downloads of a 1 s WAV: ${(D / seconds).toFixed(2)} jobs/s`);
    } finally {
      await workers.stop();
      await boss2.stop({ graceful: true });
      await engine.close();
      await orm.close();
    }
  } finally {
    results.loadAfter = loadAverage();
    await dropDatabase(adminUrl, dbName);
    if (!args.keep) rmSync(work, { recursive: true, force: true });
    else log(`kept ${work}`);
  }
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
}

await main();
