/**
 * The analysis DM: open the DM channel (`POST /users/@me/channels`), send the
 * rendered analysis with the overview picture attached (sendToUser, which
 * also sends an album's DM with its CSV). When the requester's
 * DMs are closed (403 / 50007) the analysis goes to the request's channel
 * instead, mentioning (and pinging) only the requester. Returns the
 * `requests.dm_state` to store; never throws for a Discord refusal.
 */
import { readFile } from 'node:fs/promises';
import type { RawFile, REST } from '@discordjs/rest';
import { Routes, type APIChannel, type APIMessage } from 'discord.js';
import { attachmentFileName } from '../../domain/attachmentPlan.ts';
import { analysisFacts, type AnalysisRowLike } from '../../domain/analysisWording.ts';
import { renderAnalysisDm, renderDmFallback, type MessagePayload, type TrackCard } from '../../domain/messages.ts';
import { isDmsClosed, isTooLarge, restFailure, type RestFailure } from './restErrors.ts';

export interface AnalysisDmOptions {
  /** @discordjs/rest with the bot token. */
  rest: REST;
  /** The requester. */
  userId: string;
  /** The AnalysisResult row: its columns and the engine's `features` map. */
  analysis: AnalysisRowLike;
  /** The overview PNG (analysis/<job id>/overview.png); missing or unset: sent without a picture. */
  overviewPath?: string | null;
  track: TrackCard;
  /** The request's channel, for the DMs-closed message (bot token). */
  fallbackChannelId: string;
  signal?: AbortSignal;
}

export type AnalysisDmResult =
  | { dmState: 'sent' | 'closed_fallback_sent'; channelId: string; messageId: string; imageAttached: boolean }
  | { dmState: 'failed'; reason: string; status: number | undefined; code: number | string | undefined };

/** A file sent with the message (the overview picture, a CSV). */
export interface DmFile {
  name: string;
  data: Buffer;
  contentType: string;
}

async function readPicture(options: AnalysisDmOptions): Promise<DmFile | undefined> {
  if (!options.overviewPath) return undefined;
  const data = await readFile(options.overviewPath).catch(() => undefined);
  if (!data || data.length === 0) return undefined;
  return { name: attachmentFileName(`${options.track.title}-analysis`, 'png'), data, contentType: 'image/png' };
}

/** The message, given the file's name when it is attached (null: sent without it). */
type Render = (fileName: string | null) => MessagePayload;

/**
 * Posts to a channel with the file; a 413 (the file over the limit)
 * sends the text alone rather than nothing.
 */
async function post(rest: REST, channelId: string, render: Render, file: DmFile | undefined, signal: AbortSignal | undefined) {
  const request = (withFile: boolean) => {
    const files: RawFile[] = withFile && file ? [{ name: file.name, data: file.data, contentType: file.contentType }] : [];
    return { body: render(withFile && file ? file.name : null), ...(files.length ? { files } : {}), ...(signal ? { signal } : {}) };
  };
  try {
    const message = (await rest.post(Routes.channelMessages(channelId), request(true))) as APIMessage;
    return { message, fileAttached: file !== undefined };
  } catch (error) {
    if (!file || !isTooLarge(restFailure(error))) throw error;
    const message = (await rest.post(Routes.channelMessages(channelId), request(false))) as APIMessage;
    return { message, fileAttached: false };
  }
}

function failedWith(failure: RestFailure, what: string): AnalysisDmResult {
  return { dmState: 'failed', reason: `${what}: ${failure.text}`, status: failure.status, code: failure.code };
}

export interface UserMessage {
  rest: REST;
  userId: string;
  /** The DM. */
  dm: Render;
  /** The same in the channel when DMs are closed, mentioning the user. */
  fallback: Render;
  fallbackChannelId: string;
  file?: DmFile | undefined;
  signal?: AbortSignal | undefined;
}

/** A DM to the user, or (DMs closed) the fallback in the channel; never throws for a Discord refusal. */
export async function sendToUser(m: UserMessage): Promise<AnalysisDmResult> {
  const { rest, userId, signal } = m;
  let closed: RestFailure | undefined;
  try {
    const channel = (await rest.post(Routes.userChannels(), { body: { recipient_id: userId }, ...(signal ? { signal } : {}) })) as APIChannel;
    const sent = await post(rest, channel.id, m.dm, m.file, signal);
    return { dmState: 'sent', channelId: channel.id, messageId: sent.message.id, imageAttached: sent.fileAttached };
  } catch (error) {
    const failure = restFailure(error);
    if (!isDmsClosed(failure)) return failedWith(failure, 'the DM could not be sent');
    closed = failure;
  }
  try {
    const sent = await post(rest, m.fallbackChannelId, m.fallback, m.file, signal);
    return { dmState: 'closed_fallback_sent', channelId: m.fallbackChannelId, messageId: sent.message.id, imageAttached: sent.fileAttached };
  } catch (error) {
    return failedWith(restFailure(error), `DMs are closed (${closed.text}) and the channel message failed too`);
  }
}

export async function sendAnalysisDm(options: AnalysisDmOptions): Promise<AnalysisDmResult> {
  const analysis = analysisFacts(options.analysis);
  const input = (imageFileName: string | null) => ({ requesterId: options.userId, track: options.track, analysis, imageFileName });
  return sendToUser({
    rest: options.rest,
    userId: options.userId,
    dm: (name) => renderAnalysisDm(input(name)),
    fallback: (name) => renderDmFallback(input(name)),
    fallbackChannelId: options.fallbackChannelId,
    file: await readPicture(options),
    signal: options.signal,
  });
}
