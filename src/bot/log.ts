/** The bot's log lines on stderr, filtered by LOG_LEVEL. Callers never pass tokens or URLs with secrets. */
import type { LogLevel } from '../config.ts';
import type { Logger } from '../log.ts';

const RANK: Record<LogLevel, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4, fatal: 5, silent: 6 };

export function stderrBotLogger(level: LogLevel = 'info'): Logger {
  const at = (wanted: LogLevel) => (message: string) => {
    if (RANK[wanted] >= RANK[level]) process.stderr.write(`[bot] ${message}\n`);
  };
  return { info: at('info'), warn: at('warn'), error: at('error') };
}
