/**
 * The whole story against the fake Discord, with the REAL bot and workers in
 * one process (`npm start -- --role all`), the per-run PostgreSQL database and
 * a tiny generated Demucs model: a user attaches a song to /separate, sees the
 * request message acknowledged in time and its progress climbing, the model
 * defaults when the reaction window ends, the stems arrive as attachments
 * that decode, and the analysis DM carries the overview PNG, BPM and key.
 */
import { describe, expect, it } from 'vitest';
import { MessageFlags } from 'discord-api-types/v10';
import { useBot } from './harness.ts';
import { deliveriesOf, distinctSong, requestsOf } from './reactionsHelpers.ts';
import { PNG_SIGNATURE, percents, probe, stemAttachments, waitForDm } from './storyHelpers.ts';

const SECONDS = 4;

describe('/separate from command to stems and DM', () => {
  const suite = useBot({ role: 'all', models: ['htdemucs'], env: { SFA_REACTION_WINDOW_SECONDS: '2' } });

  it('acknowledges, shows progress, defaults the model, attaches stems that decode and DMs the analysis', async () => {
    const { fake } = suite.bot;
    const user = fake.createUser('producer');
    const handle = fake.interact({ user, command: 'separate', attachments: { file: { filename: 'demo.wav', data: distinctSong(SECONDS), contentType: 'audio/wav' } } });
    await handle.acknowledged(); // rejects if the fake's 3 s rule was broken

    const reply = await handle.reply(30_000);
    expect(reply.flags & MessageFlags.Ephemeral).toBe(0); // the request message is public
    expect(reply.embeds[0]?.description).toContain(`<@${user.id}>`);

    // Stems arrive as followups of the interaction.
    const stems = await fake.waitUntil('the stems', () => {
      const found = stemAttachments(handle.followups());
      return found.length >= 4 ? found : undefined;
    }, 240_000);
    // In the model catalog's order, as the CLI lists them.
    expect(stems.map((a) => a.filename.replace(/^.*-/, '').replace(/\..*$/, ''))).toEqual(['drums', 'bass', 'other', 'vocals']);
    for (const stem of stems) {
      const info = await probe(stem.url);
      expect(info.channels).toBe(2);
      expect(Math.abs(info.duration - SECONDS)).toBeLessThan(0.2);
    }

    const dm = await waitForDm(fake, user.id);
    const png = dm.attachments.find((a) => a.filename.endsWith('.png'));
    expect(png?.data.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    const fields = Object.fromEntries((dm.embeds[0]?.fields ?? []).map((f) => [f.name, f.value]));
    expect(fields.Tempo).toMatch(/BPM|not detected/);
    expect(fields.Key).toMatch(/Camelot|not detected/);
    expect(fields.Tempo).toBeDefined();

    // The request message went from queued through rising percentages to Done.
    const done = await fake.waitUntil('the final state', () => {
      const m = handle.original()!;
      return m.embeds[0]?.footer?.text === 'Done' ? m : undefined;
    }, 30_000);
    const seen = percents(done);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen.at(-1)).toBe(100);
    expect(seen.some((p) => p > 0 && p < 100)).toBe(true);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThanOrEqual(seen[i - 1]!);
    expect(done.embeds[0]?.description).toContain('htdemucs');

    // Rows: the default model after the window, one stems delivery and one DM, each sent once.
    const [request] = await requestsOf(suite.orm, user.id);
    expect(request).toMatchObject({ kind: 'separate', model: 'htdemucs', model_source: 'default', delivery_state: 'delivered', dm_state: 'sent' });
    const sent = (await deliveriesOf(suite.orm, request!.id)).map((d) => `${d.kind}:${d.state}:${d.attempts}`).sort();
    expect(sent).toEqual(['dm:sent:1', 'stems:sent:1']);
    expect(fake.violations).toEqual([]);
  }, 300_000);
});
