/** The entities through the ORM: ids, defaults, timestamps and relations. */
import { describe, expect, it } from 'vitest';
import {
  AnalysisJob,
  AnalysisResult,
  DownloadJob,
  ProcessingJob,
  Request,
  Stem,
  Track,
} from '../../src/db/entities/index.ts';
import { uniqueSpotifyId, useTestOrm } from '../support/db.ts';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const db = useTestOrm();

describe('entities', () => {
  it('persist a track with its jobs and outputs, and load them back', async () => {
    const em = db.orm.em.fork();
    const spotifyId = uniqueSpotifyId();
    const track = em.create(Track, {
      title: 'Teardrop',
      artist: 'Massive Attack',
      spotifyId,
      spotifyUrl: `https://open.spotify.com/track/${spotifyId}`,
      isrc: 'GBAAA9800321',
      duration: 330,
    });
    expect(track.id).toMatch(UUID_V4); // generated app-side, before the flush
    const download = em.create(DownloadJob, { track });
    const processing = em.create(ProcessingJob, { track, options: { shifts: 1 } });
    const analysis = em.create(AnalysisJob, { track });
    em.create(Stem, { track, processingJob: processing, stemType: 'vocals', fileSize: 12_345 });
    em.create(Stem, { track, processingJob: processing, stemType: 'guitar' });
    em.create(AnalysisResult, { track, analysisJob: analysis, tempo: 80.5, key: 'A minor', features: { mfcc: [[1]] } });
    em.create(Request, {
      kind: 'separate',
      track,
      processingJob: processing,
      requesterId: '1',
      channelId: '2',
      applicationId: '3',
      interactionToken: 'tok',
      interactionExpiresAt: new Date(Date.now() + 900_000),
    });
    await em.flush();
    expect(download).toMatchObject({ status: 'queued', progress: 0 });
    expect(processing.model).toBe('htdemucs');
    expect(track.insertedAt).toBeInstanceOf(Date);

    const fresh = db.orm.em.fork();
    const loaded = await fresh.findOneOrFail(Track, track.id, {
      populate: ['downloadJobs', 'processingJobs.stems', 'analysisJobs.result', 'requests'],
    });
    expect(loaded).toMatchObject({ title: 'Teardrop', spotifyId, isrc: 'GBAAA9800321', sourceUrl: null });
    expect(loaded.downloadJobs.getItems().map((j) => j.status)).toEqual(['queued']);
    const stems = loaded.processingJobs.getItems()[0]!.stems.getItems();
    expect(stems.map((s) => s.stemType).sort()).toEqual(['guitar', 'vocals']);
    expect(stems.find((s) => s.stemType === 'vocals')?.fileSize).toBe(12_345);
    expect(loaded.processingJobs.getItems()[0]!.options).toEqual({ shifts: 1 });
    expect(loaded.analysisJobs.getItems()[0]!.result).toMatchObject({ tempo: 80.5, key: 'A minor' });
    expect(loaded.requests.getItems()[0]).toMatchObject({ deliveryState: 'pending', messageId: null, model: null });
  });

  it('bump updated_at on change', async () => {
    const em = db.orm.em.fork();
    const track = em.create(Track, { title: 'Before' });
    await em.flush();
    const { insertedAt, updatedAt } = track;
    await new Promise((r) => setTimeout(r, 5));
    track.title = 'After';
    await em.flush();
    expect(track.updatedAt.getTime()).toBeGreaterThan(updatedAt.getTime());
    expect(track.insertedAt).toEqual(insertedAt);
  });
});
