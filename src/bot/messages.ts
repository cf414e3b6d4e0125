/** Start-up messages of the bot role, in a module of their own so checking them loads nothing heavy. */
export const MISSING_TOKEN =
  'DISCORD_TOKEN is not set. The bot needs its token: Discord developer portal -> your application -> Bot -> Reset Token, ' +
  'then DISCORD_TOKEN=<token> (README: "Discord bot"). To run only the workers, use `npm start -- --role worker`.';

export const TOKEN_REJECTED = 'Discord rejected DISCORD_TOKEN (401 Unauthorized). Copy the current token from the developer portal (Bot -> Reset Token).';
