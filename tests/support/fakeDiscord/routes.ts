/**
 * The REST routes under `/api/v10` that discord.js and the bot use. Each
 * handler's response body is typed with the discord-api-types result type of
 * its route, so a wrong shape fails `tsc`.
 */
import type {
  APIUser,
  RESTGetAPIApplicationCommandsResult,
  RESTGetAPIChannelMessageReactionUsersResult,
  RESTGetAPIChannelMessageResult,
  RESTGetAPIChannelMessagesResult,
  RESTGetAPIChannelResult,
  RESTGetCurrentApplicationResult,
  RESTGetAPIGatewayBotResult,
  RESTGetAPIGatewayResult,
  RESTGetAPIGuildChannelsResult,
  RESTGetAPIGuildMemberResult,
  RESTGetAPIGuildResult,
  RESTPatchAPIWebhookWithTokenMessageResult,
  RESTPostAPIChannelMessageResult,
  RESTPostAPIChannelMessagesThreadsResult,
  RESTPostAPICurrentUserCreateDMChannelResult,
  RESTPostAPIWebhookWithTokenWaitResult,
  RESTPutAPIApplicationCommandsResult,
} from 'discord-api-types/v10';
import { overwriteCommands } from './commands.ts';
import type { Core } from './core.ts';
import { DiscordError, invalidFormBody, notFound, type Reply, type Router } from './http.ts';

const ok = <T>(body: T): Reply => ({ status: 200, body });
const noContent: Reply = { status: 204 };

export interface RouteEnv {
  core: Core;
  gatewayUrl: () => string;
}

export function installRoutes(router: Router, { core, gatewayUrl }: RouteEnv): void {
  const { world } = core;
  const guild = (id: string) => {
    const g = world.guilds.get(id);
    if (!g) throw notFound(10004, 'Guild');
    return g;
  };
  const app = (id: string) => {
    if (id !== world.applicationId) throw notFound(10002, 'Application');
  };
  const commandsKey = (guildId?: string) => guildId ?? 'global';

  // ---- gateway, users, application ----
  router.add('GET', '/gateway', { auth: false }, () => ok<RESTGetAPIGatewayResult>({ url: gatewayUrl() }));
  router.add('GET', '/gateway/bot', {}, () =>
    ok<RESTGetAPIGatewayBotResult>({
      url: gatewayUrl(),
      shards: 1,
      session_start_limit: { total: 1000, remaining: 1000 - core.gateway.stats.identifies.length, reset_after: 86_400_000, max_concurrency: 1 },
    }),
  );
  router.add('GET', '/users/@me', {}, () => ok<APIUser>(world.bot));
  router.add('POST', '/users/@me/channels', {}, ({ body }) => {
    const recipient = (body.json as { recipient_id?: unknown } | undefined)?.recipient_id;
    if (typeof recipient !== 'string') throw invalidFormBody(['recipient_id'], 'BASE_TYPE_REQUIRED', 'This field is required');
    if (!world.users.has(recipient)) throw notFound(10013, 'User');
    return ok<RESTPostAPICurrentUserCreateDMChannelResult>(world.dmChannel(world.dmChannelFor(recipient)));
  });
  router.add('GET', '/users/:user_id', {}, ({ params }) => {
    const user = world.users.get(params.user_id!);
    if (!user) throw notFound(10013, 'User');
    return ok<APIUser>(user.user);
  });
  router.add('GET', '/applications/@me', {}, () => ok<RESTGetCurrentApplicationResult>(world.application()));

  // ---- application commands ----
  const listCommands = (guildId?: string) => ok<RESTGetAPIApplicationCommandsResult>(world.commands.get(commandsKey(guildId)) ?? []);
  const putCommands = (body: unknown, guildId?: string) => {
    const commands = overwriteCommands(body, { applicationId: world.applicationId, guildId, previous: world.commands.get(commandsKey(guildId)) ?? [] });
    world.commands.set(commandsKey(guildId), commands);
    core.changed();
    return ok<RESTPutAPIApplicationCommandsResult>(commands);
  };
  router.add('GET', '/applications/:application_id/commands', {}, ({ params }) => (app(params.application_id!), listCommands()));
  router.add('PUT', '/applications/:application_id/commands', {}, ({ params, body }) => (app(params.application_id!), putCommands(body.json)));
  router.add('GET', '/applications/:application_id/guilds/:guild_id/commands', { major: 'guild_id' }, ({ params }) => {
    app(params.application_id!);
    return listCommands(guild(params.guild_id!).id);
  });
  router.add('PUT', '/applications/:application_id/guilds/:guild_id/commands', { major: 'guild_id' }, ({ params, body }) => {
    app(params.application_id!);
    return putCommands(body.json, guild(params.guild_id!).id);
  });

  // ---- interactions (no bot token: the interaction token is the credential) ----
  router.add('POST', '/interactions/:interaction_id/:token/callback', { auth: false }, ({ params, body, query }) => {
    const result = core.callback(params.interaction_id!, params.token!, body.json, body.files, query.get('with_response') === 'true');
    return result ? ok(result) : noContent;
  });
  router.add('POST', '/webhooks/:application_id/:token', { auth: false, major: 'application_id' }, ({ params, body, query }) => {
    const record = core.webhookInteraction(params.application_id!, params.token!);
    const message = core.followup(record, body.json, body.files);
    return query.get('wait') === 'true' ? ok<RESTPostAPIWebhookWithTokenWaitResult>(world.messageObject(message)) : noContent;
  });
  const webhookMessagePath = '/webhooks/:application_id/:token/messages/:message_id';
  router.add('GET', webhookMessagePath, { auth: false, major: 'application_id' }, ({ params }) => {
    const record = core.webhookInteraction(params.application_id!, params.token!);
    return ok<RESTGetAPIChannelMessageResult>(world.messageObject(core.webhookMessage(record, params.message_id!)));
  });
  router.add('PATCH', webhookMessagePath, { auth: false, major: 'application_id' }, ({ params, body }) => {
    const record = core.webhookInteraction(params.application_id!, params.token!);
    const message = core.editMessage(core.webhookMessage(record, params.message_id!), body.json, body.files, record.attachmentSizeLimit);
    return ok<RESTPatchAPIWebhookWithTokenMessageResult>(world.messageObject(message));
  });
  router.add('DELETE', webhookMessagePath, { auth: false, major: 'application_id' }, ({ params }) => {
    const record = core.webhookInteraction(params.application_id!, params.token!);
    core.deleteMessage(core.webhookMessage(record, params.message_id!));
    return noContent;
  });

  // ---- channels and messages (bot token) ----
  const channel = (id: string) => {
    const c = world.channels.get(id);
    if (!c) throw notFound(10003, 'Channel');
    return c;
  };
  router.add('GET', '/channels/:channel_id', { major: 'channel_id' }, ({ params }) =>
    ok<RESTGetAPIChannelResult>(world.channelObject(channel(params.channel_id!))),
  );
  router.add('GET', '/channels/:channel_id/messages', { major: 'channel_id' }, ({ params, query }) => {
    const c = channel(params.channel_id!);
    const limit = Math.min(100, Number(query.get('limit') ?? 50));
    const list = world.channelMessages(c.id).reverse().slice(0, limit);
    return ok<RESTGetAPIChannelMessagesResult>(list.map((m) => world.messageObject(m)));
  });
  router.add('POST', '/channels/:channel_id/messages', { major: 'channel_id' }, ({ params, body }) =>
    ok<RESTPostAPIChannelMessageResult>(world.messageObject(core.postChannelMessage(params.channel_id!, body.json, body.files))),
  );
  const messagePath = '/channels/:channel_id/messages/:message_id';
  router.add('GET', messagePath, { major: 'channel_id' }, ({ params }) =>
    ok<RESTGetAPIChannelMessageResult>(world.messageObject(core.message(channel(params.channel_id!).id, params.message_id!))),
  );
  router.add('PATCH', messagePath, { major: 'channel_id' }, ({ params, body }) => {
    const message = core.message(channel(params.channel_id!).id, params.message_id!);
    if (message.authorId !== world.bot.id) throw new DiscordError(403, 50005, 'Cannot edit a message authored by another user');
    return ok<RESTGetAPIChannelMessageResult>(world.messageObject(core.editMessage(message, body.json, body.files, core.uploadLimitFor(message.channelId))));
  });
  router.add('DELETE', messagePath, { major: 'channel_id' }, ({ params }) => {
    core.deleteMessage(core.message(channel(params.channel_id!).id, params.message_id!));
    return noContent;
  });
  router.add('POST', `${messagePath}/threads`, { major: 'channel_id' }, ({ params, body }) =>
    ok<RESTPostAPIChannelMessagesThreadsResult>(core.startThread(params.channel_id!, params.message_id!, body.json)),
  );
  const reactionPath = `${messagePath}/reactions/:emoji`;
  router.add('GET', reactionPath, { major: 'channel_id' }, ({ params, query }) =>
    ok<RESTGetAPIChannelMessageReactionUsersResult>(core.reactionUsers(channel(params.channel_id!).id, params.message_id!, params.emoji!, query)),
  );
  router.add('PUT', `${reactionPath}/@me`, { major: 'channel_id' }, ({ params }) => {
    core.addReaction(channel(params.channel_id!).id, params.message_id!, params.emoji!, world.bot.id);
    return noContent;
  });
  router.add('DELETE', `${reactionPath}/@me`, { major: 'channel_id' }, ({ params }) => {
    core.removeReaction(channel(params.channel_id!).id, params.message_id!, params.emoji!, world.bot.id);
    return noContent;
  });
  router.add('DELETE', `${reactionPath}/:user_id`, { major: 'channel_id' }, ({ params }) => {
    core.removeReaction(channel(params.channel_id!).id, params.message_id!, params.emoji!, params.user_id!);
    return noContent;
  });

  // ---- guilds ----
  router.add('GET', '/guilds/:guild_id', { major: 'guild_id' }, ({ params }) => ok<RESTGetAPIGuildResult>(world.guildObject(guild(params.guild_id!))));
  router.add('GET', '/guilds/:guild_id/channels', { major: 'guild_id' }, ({ params }) =>
    ok<RESTGetAPIGuildChannelsResult>(guild(params.guild_id!).channelIds.map((id) => world.textChannel(world.channel(id)))),
  );
  router.add('GET', '/guilds/:guild_id/members/:user_id', { major: 'guild_id' }, ({ params }) => {
    const g = guild(params.guild_id!);
    if (!g.memberIds.has(params.user_id!)) throw notFound(10007, 'Member');
    return ok<RESTGetAPIGuildMemberResult>(world.member(g, params.user_id!));
  });
}
