/**
 * The bot role's request handling around the discord.js client: the ORM,
 * pg-boss (to queue work and cancel it), the file server for stems too large
 * to attach, the progress follower (LISTEN sfa_progress), the progress
 * tracker, the outbox dispatcher and the reaction-window timer.
 *
 * On start it carries on where a previous process stopped: model choices
 * whose window ended, choices not yet turned into a separation, work that
 * finished while the bot was down (delivered now), progress messages of
 * unfinished requests (re-rendered; unchanged ones are not edited again), and
 * reactions made on request messages while no bot was connected (read back
 * through REST, see reactions/catchUp.ts).
 */
import type { Client } from 'discord.js';
import type { Config } from '../config.ts';
import { createOrm, type Orm } from '../db/orm.ts';
import { DEFAULT_MODEL } from '../domain/modelCatalog.ts';
import { createBoss, followProgress, type ProgressEvent, type ProgressFollower } from '../jobs/pipeline/index.ts';
import { StoragePaths } from '../jobs/storage/paths.ts';
import type { PgBoss } from 'pg-boss';
import { StemEncoder } from './delivery/encode.ts';
import type { BotDeps } from './deps.ts';
import { stemLookup } from './files/lookup.ts';
import { resolveLinkSecret } from './files/secret.ts';
import { playerRoutes } from './files/player/routes.ts';
import { stemSetLookup } from './files/player/stemSet.ts';
import { startFileServer, type FileServer } from './files/server.ts';
import type { Logger } from '../log.ts';
import { Dispatcher } from './outbox/dispatcher.ts';
import { enqueueDue } from './outbox/enqueue.ts';
import { ProgressTracker, type ProgressSource } from './progress/tracker.ts';
import { advanceBatch } from './batches/advance.ts';
import { batchesWaitingToStart, loadBatchSnapshot, unfinishedBatches, type BatchRow } from '../requests/batches.ts';
import { renderBatch } from '../requests/batchView.ts';
import { isFinal, loadRequest, renderRequest, type RequestRow } from '../requests/view.ts';
import { catchUpReactions } from './reactions/catchUp.ts';
import { drainPendingReactionChoices, offerModelReactions } from './reactions/index.ts';
import { applyModelChoice, resumeUnlinkedChoices } from './requests/chooseModel.ts';
import { endedWindows, requestsFollowing, unfinishedRequests } from '../requests/store.ts';

export interface BotRuntime {
  /** Set once the client is ready (needs its REST and user id). */
  attach(client: Client<true>): BotDeps;
  /** Resume after a restart; call after the reaction handling is attached. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

export interface BotRuntimeOptions {
  config: Config;
  databaseUrl: string;
  log: Logger;
}

const WINDOW_SCAN_MS = 1000;

export async function startBotRuntime(options: BotRuntimeOptions): Promise<BotRuntime> {
  const { config, log } = options;
  const orm: Orm = await createOrm(options.databaseUrl);
  const stops: (() => Promise<void>)[] = [() => orm.close()];
  const stopAll = async () => {
    for (const s of stops.reverse()) await s().catch((e: unknown) => log.warn(`stopping: ${(e as Error).message}`));
  };
  const storagePaths = new StoragePaths(config.dataDir);
  const encoder = new StemEncoder({ paths: storagePaths });
  let boss: PgBoss;
  let files: FileServer;
  let secret: string;
  try {
    boss = await createBoss(options.databaseUrl, { onError: (e) => log.warn(`pg-boss: ${e.message}`) });
    stops.push(() => boss.stop({ graceful: true }));
    secret = (await resolveLinkSecret({ configured: config.linkSecret, dataDir: config.dataDir, log })).reveal();
    files = await startFileServer({
      host: config.httpHost,
      port: config.httpPort,
      secret,
      lookup: stemLookup(orm),
      dataDir: config.dataDir,
      ...(config.publicBaseUrl ? { publicBaseUrl: config.publicBaseUrl } : {}),
      log,
      routes: playerRoutes({ secret, lookup: stemSetLookup(orm), paths: storagePaths, encoder, ...(config.publicBaseUrl ? { publicBaseUrl: config.publicBaseUrl } : {}), log }),
    });
    stops.push(() => files.close());
    log.info(`file server listening on ${files.url}`);
  } catch (error) {
    await stopAll();
    throw error;
  }

  let deps: BotDeps | undefined;
  let stopped = false;
  const getDeps = () => {
    if (!deps) throw new Error('the bot is not ready yet');
    return deps;
  };
  // A track of an album or playlist has no message of its own: its batch's message shows it.
  const requestMessages: ProgressSource<RequestRow> = {
    table: 'requests',
    async load(db, id) {
      const row = await loadRequest(db, id);
      if (row?.batch_id) {
        batchChanged(row.batch_id);
        return undefined;
      }
      return row;
    },
    render: (row) => ({ payload: renderRequest(row), final: isFinal(row) }),
  };
  const batchMessages: ProgressSource<BatchRow & { snapshot: NonNullable<Awaited<ReturnType<typeof loadBatchSnapshot>>> }> = {
    table: 'batches',
    async load(db, id) {
      const snapshot = await loadBatchSnapshot(db, id);
      return snapshot && { ...snapshot.batch, snapshot };
    },
    render: (row) => renderBatch(row.snapshot),
  };
  const tracker = new ProgressTracker(getDeps, requestMessages);
  const batchTracker = new ProgressTracker(getDeps, batchMessages);
  const links = config.publicBaseUrl ? { publicBaseUrl: config.publicBaseUrl, secret, playerDays: config.playerLinkDays } : undefined;
  // The request message exists: offer the model reactions while the requester may still choose.
  tracker.onMessage = (requestId, row, messageId) => {
    if (row.kind !== 'separate' || row.model !== null) return;
    void offerModelReactions(getDeps(), row.channel_id, messageId).catch((e: unknown) => log.warn(`request ${requestId}: offering reactions failed: ${(e as Error).message}`));
  };
  const dispatcher = new Dispatcher(getDeps, { encoder, links }, (owner) => ('batch' in owner ? batchChanged(owner.batch) : void tracker.refresh(owner.request)));

  /**
   * An album's or playlist's request changed: start what may start, settle it, re-render its message.
   * Serialised per batch; a change while it runs runs it once more afterwards.
   */
  const advancing = new Map<string, { again: boolean }>();
  function batchChanged(batchId: string): void {
    const running = advancing.get(batchId);
    if (running) {
      running.again = true;
      return;
    }
    const state = { again: false };
    advancing.set(batchId, state);
    const run = async (): Promise<void> => {
      do {
        state.again = false;
        const result = await advanceBatch(getDeps(), batchId);
        for (const id of result.started) requestChanged(id);
        if (result.dm) dispatcher.poke();
        await batchTracker.refresh(batchId);
      } while (state.again && !stopped);
    };
    void run()
      .catch((e: unknown) => log.warn(`batch ${batchId}: ${(e as Error).message}`))
      .finally(() => advancing.delete(batchId));
  }

  /** A request's rows changed: deliver what became due, re-render its message. */
  const requestChanged = (requestId: string) => {
    void enqueueDue(orm, requestId)
      .then((due) => {
        if (due.stems || due.dm) dispatcher.poke();
      })
      .catch((e: unknown) => log.warn(`request ${requestId}: ${(e as Error).message}`))
      .finally(() => void tracker.refresh(requestId));
  };

  const onEvent = (event: ProgressEvent) => {
    if (!deps) return;
    const which = event.kind === 'download' ? { download: event.trackId } : event.kind === 'processing' ? { processing: event.jobId } : { analysis: event.jobId };
    void requestsFollowing(orm, which)
      .then((ids) => ids.forEach(requestChanged))
      .catch((e: unknown) => log.warn(`progress event: ${(e as Error).message}`));
  };
  let follower: ProgressFollower;
  try {
    follower = await followProgress(options.databaseUrl, onEvent, (e) => log.warn(`progress listener: ${e.message}`));
  } catch (error) {
    await stopAll();
    throw error;
  }
  stops.push(() => follower.close());

  let windowTimer: NodeJS.Timeout | undefined;
  const catchUpAbort = new AbortController();
  let catchUp: Promise<void> = Promise.resolve();
  const scanWindows = async () => {
    for (const id of await endedWindows(orm, 20)) await applyModelChoice(getDeps(), id, DEFAULT_MODEL, 'default');
    // A slot freed by the user's other requests lets a waiting album track start.
    for (const id of await batchesWaitingToStart(orm, 20)) batchChanged(id);
  };
  const windowLoop = () => {
    if (stopped) return;
    void scanWindows()
      .catch((e: unknown) => log.warn(`reaction windows: ${(e as Error).message}`))
      .finally(() => {
        if (!stopped) windowTimer = setTimeout(windowLoop, WINDOW_SCAN_MS);
      });
  };

  return {
    attach(client) {
      deps = {
        orm,
        boss,
        pipeline: { orm, boss, maxDurationSeconds: config.limits.maxDurationSeconds },
        rest: client.rest,
        config,
        log,
        botUserId: client.user.id,
        requestChanged,
        batchChanged,
      };
      return deps;
    },
    async resume() {
      const d = getDeps();
      await resumeUnlinkedChoices(d);
      await drainPendingReactionChoices(d);
      const open = await unfinishedRequests(orm);
      for (const id of open) requestChanged(id);
      const batches = await unfinishedBatches(orm);
      for (const id of batches) batchChanged(id);
      dispatcher.start();
      windowLoop();
      if (open.length || batches.length) log.info(`resumed ${open.length} unfinished request(s) and ${batches.length} album/playlist request(s)`);
      // In the background: reading Discord must not hold up the start, and its failures only warn.
      catchUp = catchUpReactions(d, { signal: catchUpAbort.signal })
        .then((r) => {
          if (r.read || r.skipped) log.info(`reactions made while the bot was down: ${r.read} message(s) read, ${r.skipped} skipped, ${r.recorded} recorded`);
        })
        .catch((e: unknown) => log.warn(`reactions made while the bot was down: ${(e as Error).message}`));
    },
    async stop() {
      stopped = true;
      catchUpAbort.abort();
      await catchUp;
      if (windowTimer) clearTimeout(windowTimer);
      await dispatcher.close();
      await tracker.close();
      await batchTracker.close();
      await stopAll();
    },
  };
}
