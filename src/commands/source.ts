/**
 * Turns a checked song option into the pipeline's input string. Links go to
 * the pipeline as they are (the workers fetch them, private hosts refused).
 * An attached file lives on Discord's CDN: the bot fetches it itself, only
 * from the trusted CDN bases (SFA_DISCORD_CDN_BASES), into
 * `<data>/uploads/<sha256 of the bytes>.<ext>` — named by its content, so the
 * same file attached twice is the same track (one download, one separation).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { resolveChecked } from '../jobs/download/addressGuard.ts';
import { downloadDirectUrl, parseDirectUrl } from '../jobs/download/directUrl.ts';
import { UserFacingError } from '../jobs/download/errors.ts';
import { isTrustedAttachmentUrl } from '../domain/botSettings.ts';
import { bareHost, isIpLiteral, parseIpRanges, type IpRange } from '../domain/networkAddress.ts';
import type { Config } from '../config.ts';
import type { SongSource } from './sourceOptions.ts';

export class SourceError extends Error {
  override readonly name = 'SourceError';
}

const NOT_DISCORD = 'That attachment does not come from Discord\'s file server, so I will not fetch it. Attach the file again.';

/** The bases named by an IP address: the admin trusted exactly that address. */
function literalRangesOf(bases: readonly string[]): IpRange[] {
  const parsed = parseIpRanges(bases.map((b) => bareHost(new URL(b).hostname)).filter(isIpLiteral).join(','));
  return parsed.ok ? parsed.ranges : [];
}

export async function pipelineInputFor(deps: { config: Config }, source: Exclude<SongSource, { kind: 'record' }>): Promise<string> {
  if (source.kind === 'spotify') return source.url; // its audio comes from YouTube, not from the link
  if (source.kind === 'url') {
    await refusePrivateLink(source.url, deps.config.limits.allowedPrivateRanges);
    return source.url;
  }
  if (!isTrustedAttachmentUrl(source.url, deps.config.bot.trustedAttachmentBases)) {
    throw new SourceError(NOT_DISCORD);
  }
  const uploads = path.join(deps.config.dataDir, 'uploads');
  const staging = path.join(uploads, `.incoming-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  await mkdir(staging, { recursive: true });
  try {
    const bases = deps.config.bot.trustedAttachmentBases;
    const got = await downloadDirectUrl(source.url, staging, {
      maxFileMb: deps.config.limits.maxFileMb,
      // The same length limit as every other source (SFA_MAX_DURATION_SECONDS), not validateAudio's default.
      validate: { maxDurationSeconds: deps.config.limits.maxDurationSeconds },
      // Every hop of a redirect chain must stay on a trusted base, and resolve to a public address
      // unless the admin named the base by a private IP (a local CDN) or opened that range.
      onlyUrls: (url) => isTrustedAttachmentUrl(url.href, bases),
      refusedMessage: NOT_DISCORD,
      allowedRanges: [...deps.config.limits.allowedPrivateRanges, ...literalRangesOf(bases)],
    });
    const hash = await sha256Of(got.path);
    const ext = path.extname(got.path) || '.bin';
    const final = path.join(uploads, `${hash}${ext}`);
    // Keep an existing copy: its size and mtime are the track's identity.
    if (!(await stat(final).catch(() => undefined))) await rename(got.path, final);
    return final;
  } catch (error) {
    if (error instanceof Error && 'userMessage' in error && typeof (error as { userMessage: unknown }).userMessage === 'string') {
      throw new SourceError((error as unknown as { userMessage: string }).userMessage);
    }
    throw error;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * A link to a private address is answered privately at once, before anything is queued. The download
 * worker checks again when it connects (pinned to the address it checks): this early look only spares
 * the user a public failure. A name that does not resolve here is left to the worker to report.
 */
async function refusePrivateLink(url: string, allowedRanges: readonly IpRange[]): Promise<void> {
  const policy = { allowPrivate: false, allowedRanges };
  try {
    const parsed = parseDirectUrl(url, policy);
    if (!isIpLiteral(parsed.hostname)) await resolveChecked(parsed.hostname, policy);
  } catch (error) {
    if (error instanceof UserFacingError) throw new SourceError(error.userMessage);
    // DNS trouble: the worker reports it with its own retries and message.
  }
}

/** Hex SHA-256 of a file, read in chunks (an upload may be hundreds of MB). */
async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
