import type { Logger } from '../../log.ts';

/** Where the workers of a process write their log lines when nobody passes a logger. */
export const stderrWorkerLogger: Logger = {
  info: (m) => process.stderr.write(`[worker] ${m}\n`),
  warn: (m) => process.stderr.write(`[worker] ${m}\n`),
  error: (m) => process.stderr.write(`[worker] ${m}\n`),
};
