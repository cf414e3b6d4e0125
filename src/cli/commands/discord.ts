/**
 * `sfa discord register [--guild ID | --global]`: registers the bot's slash
 * commands (the same bulk overwrite the bot does on start) without staying
 * online. The application id comes from the token (GET /applications/@me).
 */
import { MISSING_TOKEN, TOKEN_REJECTED } from '../../bot/messages.ts';
import { loadConfigOrReport } from '../../config.ts';
import { parseCommandLine } from '../args.ts';
import { usageExit } from '../usage.ts';

const USAGE = `usage: sfa discord register [--guild ID | --global]

Registers the bot's slash commands with Discord and exits.
  --guild ID   in this server only; changes show at once (default: DISCORD_GUILD_ID)
  --global     in every server the bot is in; Discord can take up to an hour to show changes
  DISCORD_TOKEN      the bot token (required)
  DISCORD_API_BASE   Discord's REST base (default https://discord.com/api)
`;

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandLine(args, { guild: { type: 'string' }, global: { type: 'boolean' } }, { min: 1, max: 1, name: 'subcommand (register)' });
  if (parsed.ok !== true) return usageExit('sfa discord', parsed, USAGE);
  const { values, positionals } = parsed.options;
  if (positionals[0] !== 'register') return usageExit('sfa discord', { ok: false, message: `unknown subcommand '${positionals[0]}'` }, USAGE);
  if (values.guild !== undefined && values.global) return usageExit('sfa discord', { ok: false, message: '--guild and --global exclude each other' }, USAGE);
  if (values.guild !== undefined && !/^\d{17,20}$/.test(values.guild)) {
    process.stderr.write(`sfa discord: --guild expects a server id (a snowflake, 17 to 20 digits)\n`);
    return 2;
  }
  const config = loadConfigOrReport();
  if (!config) return 2;
  if (!config.discord.token) {
    process.stderr.write(`${MISSING_TOKEN}\n`);
    return 2;
  }
  // Loaded only now: discord.js takes a moment to import and usage errors should not wait for it.
  const { DiscordAPIError, REST, Routes } = await import('discord.js');
  const { describeRegistration, registerCommands } = await import('../../bot/register.ts');

  const rest = new REST({ api: config.discord.apiBase }).setToken(config.discord.token.reveal());
  const guildId = values.global ? undefined : (values.guild ?? config.discord.guildId);
  try {
    const application = (await rest.get(Routes.currentApplication())) as { id: string };
    const registration = await registerCommands(rest, { applicationId: application.id, guildId });
    process.stdout.write(`${describeRegistration(registration)}\n`);
    return 0;
  } catch (error) {
    if (error instanceof DiscordAPIError && error.status === 401) {
      process.stderr.write(`sfa discord register: ${TOKEN_REJECTED}\n`);
    } else {
      const hint = guildId && error instanceof DiscordAPIError && (error.status === 403 || error.status === 404) ? ` Is the bot in guild ${guildId}?` : '';
      process.stderr.write(`sfa discord register: ${(error as Error).message}.${hint}\n`);
    }
    return 1;
  }
}
