/**
 * First use in Discord: the bot and its workers (`--role all`) start with an
 * empty model folder; a /separate makes the worker fetch htdemucs from the
 * (local) download server, and the request message's separation line shows
 * "fetching model htdemucs (… MB) N %" before the stems arrive.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { useBot } from './harness.ts';
import { distinctSong } from './reactionsHelpers.ts';
import { stemAttachments } from './storyHelpers.ts';
import { makeServedFiles, servedCheckpoint, startModelServer, type ModelServer } from '../support/modelServer.ts';

let server: ModelServer;

describe('/separate with a model that is not installed yet', () => {
  const suite = useBot(async () => {
    server = await startModelServer(await makeServedFiles(['htdemucs']));
    server.slowMs = 250; // ~10 s: several edits of the message while it is fetched
    server.plan(servedCheckpoint(server, '955717e8').name, 'slow');
    return { role: 'all', env: { SFA_MODEL_BASE_URL: server.baseUrl, SFA_REACTION_WINDOW_SECONDS: '0' } };
  });
  afterAll(() => server?.close());

  it('fetches it first and says so on the separation line, then delivers the stems', async () => {
    const { fake, modelDir } = suite.bot;
    const user = fake.createUser('first-user');
    const handle = fake.interact({ user, command: 'separate', attachments: { file: { filename: 'demo.wav', data: distinctSong(3), contentType: 'audio/wav' } } });
    await handle.acknowledged();
    const stems = await fake.waitUntil('the stems', () => {
      const found = stemAttachments(handle.followups());
      return found.length >= 4 ? found : undefined;
    }, 240_000);
    expect(stems).toHaveLength(4);

    const lines = handle.original()!.history.flatMap((h) => (h.embeds[0]?.description ?? '').split('\n')).filter((l) => l.includes('**Separate**'));
    const fetching = lines.filter((l) => /— fetching model htdemucs \(0\.\d\d MB\) \d+ %$/.test(l));
    expect(fetching.length, lines.join('\n')).toBeGreaterThanOrEqual(2);
    const percents = fetching.map((l) => Number(/(\d+) %$/.exec(l)![1]));
    expect(percents.some((p) => p > 0 && p < 100)).toBe(true);
    for (let i = 1; i < percents.length; i++) expect(percents[i]!).toBeGreaterThanOrEqual(percents[i - 1]!);
    // The fetch came before the separation's own progress.
    expect(lines.findIndex((l) => l.includes('fetching model'))).toBeLessThan(lines.findIndex((l) => /▰|▱/.test(l) || l.includes('done')));
    const { name } = servedCheckpoint(server, '955717e8');
    expect(readdirSync(modelDir).filter((n) => !n.startsWith('.')).sort()).toEqual([name, 'htdemucs.yaml']);
    expect(server.requestsFor(name)).toHaveLength(1);
    expect(path.basename(modelDir)).toBe('models');
    expect(fake.violations).toEqual([]);
  }, 300_000);
});
