/** Where the workers of a process write their log lines. */
export interface WorkerLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const stderrWorkerLogger: WorkerLogger = {
  info: (m) => process.stderr.write(`[worker] ${m}\n`),
  warn: (m) => process.stderr.write(`[worker] ${m}\n`),
  error: (m) => process.stderr.write(`[worker] ${m}\n`),
};
