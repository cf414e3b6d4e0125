/**
 * The analysis DM: open the DM channel (`POST /users/@me/channels`), send the
 * rendered analysis with the overview picture attached. When the requester's
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

interface Picture {
  name: string;
  data: Buffer;
}

async function readPicture(options: AnalysisDmOptions): Promise<Picture | undefined> {
  if (!options.overviewPath) return undefined;
  const data = await readFile(options.overviewPath).catch(() => undefined);
  if (!data || data.length === 0) return undefined;
  return { name: attachmentFileName(`${options.track.title}-analysis`, 'png'), data };
}

type Render = (imageFileName: string | null) => MessagePayload;

/**
 * Posts to a channel with the picture; a 413 (the picture over the limit)
 * sends the text alone rather than nothing.
 */
async function post(rest: REST, channelId: string, render: Render, picture: Picture | undefined, signal: AbortSignal | undefined) {
  const request = (withPicture: boolean) => {
    const files: RawFile[] = withPicture && picture ? [{ name: picture.name, data: picture.data, contentType: 'image/png' }] : [];
    return { body: render(withPicture && picture ? picture.name : null), ...(files.length ? { files } : {}), ...(signal ? { signal } : {}) };
  };
  try {
    const message = (await rest.post(Routes.channelMessages(channelId), request(true))) as APIMessage;
    return { message, imageAttached: picture !== undefined };
  } catch (error) {
    if (!picture || !isTooLarge(restFailure(error))) throw error;
    const message = (await rest.post(Routes.channelMessages(channelId), request(false))) as APIMessage;
    return { message, imageAttached: false };
  }
}

function failedWith(failure: RestFailure, what: string): AnalysisDmResult {
  return { dmState: 'failed', reason: `${what}: ${failure.text}`, status: failure.status, code: failure.code };
}

export async function sendAnalysisDm(options: AnalysisDmOptions): Promise<AnalysisDmResult> {
  const { rest, userId, signal } = options;
  const picture = await readPicture(options);
  const analysis = analysisFacts(options.analysis);
  const input = (imageFileName: string | null) => ({ requesterId: userId, track: options.track, analysis, imageFileName });

  let closed: RestFailure | undefined;
  try {
    const channel = (await rest.post(Routes.userChannels(), { body: { recipient_id: userId }, ...(signal ? { signal } : {}) })) as APIChannel;
    const sent = await post(rest, channel.id, (name) => renderAnalysisDm(input(name)), picture, signal);
    return { dmState: 'sent', channelId: channel.id, messageId: sent.message.id, imageAttached: sent.imageAttached };
  } catch (error) {
    const failure = restFailure(error);
    if (!isDmsClosed(failure)) return failedWith(failure, 'the DM could not be sent');
    closed = failure;
  }

  try {
    const sent = await post(rest, options.fallbackChannelId, (name) => renderDmFallback(input(name)), picture, signal);
    return { dmState: 'closed_fallback_sent', channelId: options.fallbackChannelId, messageId: sent.message.id, imageAttached: sent.imageAttached };
  } catch (error) {
    return failedWith(restFailure(error), `DMs are closed (${closed.text}) and the channel message failed too`);
  }
}
