/**
 * The stem player's URL for the command line: under PUBLIC_BASE_URL when it
 * is set, otherwise on the file server's own address on this host
 * (SFA_HTTP_HOST:SFA_HTTP_PORT, where the bot, or `sfa player --serve`,
 * serves it). Signed with the same secret as the bot's links.
 */
import type { Config } from '../config.ts';
import { resolveLinkSecret } from '../bot/files/secret.ts';
import { playerExpiry, playerUrl } from '../domain/playerLink.ts';

/** The base URL of this host's file server. */
export function localBaseUrl(config: Pick<Config, 'httpHost' | 'httpPort'>): string {
  const host = config.httpHost === '0.0.0.0' || config.httpHost === '::' ? '127.0.0.1' : config.httpHost;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.httpPort}`;
}

export async function cliPlayerUrl(config: Config, setId: string, nowMs = Date.now()): Promise<string> {
  const quiet = { info: () => undefined, warn: (m: string) => void process.stderr.write(`${m}\n`) };
  const secret = (await resolveLinkSecret({ configured: config.linkSecret, dataDir: config.dataDir, log: quiet })).reveal();
  const base = config.publicBaseUrl ?? localBaseUrl(config);
  return playerUrl(base, secret, setId, playerExpiry(nowMs, config.playerLinkDays));
}
