/**
 * The secret that signs file links. SFA_LINK_SECRET when set; otherwise one
 * generated once and kept in `<data dir>/link-secret` (mode 0600), so links
 * stay valid across restarts and every bot process sharing the data folder
 * signs alike. Generating it is logged (never the value).
 */
import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Secret } from '../../config.ts';
import { MIN_SECRET_LENGTH } from '../../domain/signedLink.ts';
import type { Logger } from '../../log.ts';

export const LINK_SECRET_FILE = 'link-secret';


export class LinkSecretError extends Error {
  override readonly name = 'LinkSecretError';
}

async function readStored(file: string, log: Pick<Logger, 'info' | 'warn'>): Promise<Secret | undefined> {
  let content: string;
  try {
    content = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LinkSecretError(`Could not read the link secret ${file}: ${(error as Error).message}`);
  }
  const value = content.trim();
  if (value.length < MIN_SECRET_LENGTH || /\s/.test(value)) {
    throw new LinkSecretError(
      `${file} does not hold a usable link secret (at least ${MIN_SECRET_LENGTH} characters, no spaces). ` +
        'Delete it to have a new one generated (links already sent stop working), or set SFA_LINK_SECRET.',
    );
  }
  const mode = (await stat(file)).mode & 0o777;
  if (mode & 0o077) log.warn(`${file} can be read by other users (mode ${mode.toString(8)}); run chmod 600 on it`);
  return new Secret(value);
}

export async function resolveLinkSecret(options: { configured: Secret | undefined; dataDir: string; log: Pick<Logger, 'info' | 'warn'> }): Promise<Secret> {
  if (options.configured) return options.configured;
  const file = path.join(options.dataDir, LINK_SECRET_FILE);
  const stored = await readStored(file, options.log);
  if (stored) return stored;

  await mkdir(options.dataDir, { recursive: true });
  // Written in full under a private name, then linked into place: link() fails
  // if another process got there first, and then its secret is the one to use.
  const temp = path.join(options.dataDir, `.${LINK_SECRET_FILE}.${randomBytes(6).toString('hex')}`);
  try {
    await writeFile(temp, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    await chmod(temp, 0o600);
    try {
      await link(temp, file);
      options.log.info(
        `SFA_LINK_SECRET is not set: generated a link signing secret and stored it in ${file} (mode 600). ` +
          'Set SFA_LINK_SECRET to choose it yourself; bot processes that do not share this data folder need the same value.',
      );
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  } finally {
    await rm(temp, { force: true });
  }
  const created = await readStored(file, options.log);
  if (!created) throw new LinkSecretError(`The link secret ${file} vanished right after it was written`);
  return created;
}
