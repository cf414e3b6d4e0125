/**
 * The one logger shape every part takes (bot, commands, workers, engine client,
 * file server, CLI). Lines are plain text; callers never pass tokens or URLs with secrets.
 */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}
