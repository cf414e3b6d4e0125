/**
 * The pure bookkeeping of a stems delivery (no I/O): the plan as it stands
 * while messages go out one by one, which files a 413 proves too large, and
 * the lines for stems that could not be delivered at all.
 *
 * Discord's 413 does not say which file was too large, only that one was: the
 * real limit is below the largest file of that message. So every file at
 * least that large is stepped down, in that message and in the ones not sent yet.
 */
import {
  groupIntoMessages,
  type AttachDelivery,
  type AttachmentPlan,
  type LinkDelivery,
  type StemDelivery,
} from '../../domain/attachmentPlan.ts';
import { NO_STEMS_LINE, fitEmbed, truncateLines, type MessagePayload } from '../../domain/messages.ts';
import { outsideText } from '../../domain/outsideText.ts';

/**
 * The plan to render: `delivered` are the messages already sent (fixed), the
 * rest of the attachments are grouped after them. `stems` lists every stem
 * still delivered (failed ones are left out), in input order.
 */
export function currentPlan(limitBytes: number, stems: readonly StemDelivery[], delivered: readonly AttachDelivery[][]): AttachmentPlan {
  const sent = new Set(delivered.flat().map((d) => d.stem.id));
  const pending = stems.filter((d) => !(d.kind === 'attach' && sent.has(d.stem.id)));
  return {
    limitBytes,
    stems: [...stems],
    messages: [...delivered.map((group) => [...group]), ...groupIntoMessages(pending)],
    links: stems.filter((d): d is LinkDelivery => d.kind === 'link'),
  };
}

/**
 * After a 413 on a message whose files have these sizes: the smallest size
 * known to be too large (the largest file of the message, or an earlier,
 * smaller proof). undefined when the message had no file (then the 413 is not
 * about attachments).
 */
export function tooLargeFrom(fileSizes: readonly number[], previous: number | undefined): number | undefined {
  if (fileSizes.length === 0) return previous;
  const largest = Math.max(...fileSizes);
  return previous === undefined ? largest : Math.min(previous, largest);
}

/** Whether a file of `bytes` may be uploaded: within the plan's limit and below any size a 413 proved too large. */
export function fits(bytes: number, limitBytes: number, tooLargeAt: number | undefined): boolean {
  return bytes <= limitBytes && (tooLargeAt === undefined || bytes < tooLargeAt);
}

export interface Undelivered {
  name: string;
  reason: string;
}

/** "• **bass** — not delivered: the stem file is missing" */
export function undeliveredLine(stem: Undelivered): string {
  const name = outsideText(stem.name, 100) || 'stem';
  return `• **${name}** — not delivered: ${outsideText(stem.reason, 200)}`;
}

/** Puts `extra` after the last stem line ("• …") of a list, or first when there is none; drops NO_STEMS_LINE (wrong when stems exist but failed). */
function insertAfterStemLines(text: string, extra: string): string {
  const lines = text.split('\n').filter((line) => line !== NO_STEMS_LINE);
  let last = -1;
  lines.forEach((line, i) => {
    if (line.startsWith('• ')) last = i;
  });
  lines.splice(last + 1, 0, extra);
  return lines.join('\n');
}

/**
 * The stems message with the undelivered stems added to its list (the first
 * embed's description), so the user is told about every stem. A payload
 * without an embed gets the lines in its content.
 */
export function withUndelivered(payload: MessagePayload, stems: readonly Undelivered[]): MessagePayload {
  if (stems.length === 0) return payload;
  const lines = stems.map(undeliveredLine).join('\n');
  const [first, ...rest] = payload.embeds ?? [];
  if (first) {
    const description = first.description ? insertAfterStemLines(first.description, lines) : lines;
    return { ...payload, embeds: [fitEmbed({ ...first, description }), ...rest] };
  }
  const content = payload.content ? `${payload.content}\n${lines}` : lines;
  return { ...payload, content: truncateLines(content, 2000) };
}
