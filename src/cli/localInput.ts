/**
 * A local input path checked before anything is queued: missing, or a folder,
 * fifo or device (which no worker could read as audio) is a usage error
 * (exit 2) with a specific message. What is inside the file is the workers'
 * business (validateAudio).
 */
import { statSync } from 'node:fs';
import { notAFileKind, notAFileMessage } from '../domain/audioFormats.ts';

/** The problem with `file` as a command's input, or undefined when it is a regular file. */
export function localInputProblem(file: string, shown: string, options: { missingOk?: boolean } = {}): string | undefined {
  const kind = notAFileKind(statSync(file, { throwIfNoEntry: false }));
  if (kind === undefined || (kind === 'missing' && options.missingOk)) return undefined;
  if (kind === 'missing') return `no such file: ${shown}`;
  return `${shown}: ${notAFileMessage(kind)}`;
}
