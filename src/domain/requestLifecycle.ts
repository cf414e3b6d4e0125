/**
 * A chat request's lifecycle (pure): which delivery states it may move
 * between, when its work has ended, and which failure it reports.
 *
 * Stored in `requests.delivery_state` (pending, delivering, delivered,
 * failed) and `requests.dm_state`; "cancelled" is not a column value but a
 * failed request whose error is CANCELLED_BY_REQUESTER. `delivered` and
 * `failed` are terminal. `delivering` is a sender's claim on the upload: a
 * retryable failure gives it back (`delivering -> pending`), nothing else
 * moves backwards. A DB trigger (migration 0005) mirrors both tables.
 */
import type { JobStatus } from './jobStatus.ts';

export const DELIVERY_STATES = ['pending', 'delivering', 'delivered', 'failed'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

export const DELIVERY_TRANSITIONS: Readonly<Record<DeliveryState, readonly DeliveryState[]>> = {
  pending: ['delivering', 'delivered', 'failed'],
  delivering: ['pending', 'delivered', 'failed'],
  delivered: [],
  failed: [],
};

/** The analysis DM: pending until settled either way. A request that sends none has NULL. */
export const DM_STATES = ['pending', 'sent', 'closed_fallback_sent', 'failed'] as const;
export type DmState = (typeof DM_STATES)[number];

export const DM_TRANSITIONS: Readonly<Record<DmState, readonly DmState[]>> = {
  pending: ['sent', 'closed_fallback_sent', 'failed'],
  sent: [],
  closed_fallback_sent: [],
  failed: [],
};

export function canMoveDelivery(from: DeliveryState, to: DeliveryState): boolean {
  return from === to || DELIVERY_TRANSITIONS[from].includes(to);
}

export function canMoveDm(from: DmState, to: DmState): boolean {
  return from === to || DM_TRANSITIONS[from].includes(to);
}

/** The states a request may be in for a write of `to` to be legal; used by conditional UPDATEs. */
export function deliverySources(to: DeliveryState): DeliveryState[] {
  return DELIVERY_STATES.filter((from) => from !== to && DELIVERY_TRANSITIONS[from].includes(to));
}

/** The request still owes its requester something (counts toward their limit, keeps its files). */
export function isOpen(state: DeliveryState): boolean {
  return state === 'pending' || state === 'delivering';
}

export const CANCELLED_BY_REQUESTER = 'cancelled by the requester';

export type LifecycleState = 'pending' | 'delivering' | 'delivered' | 'cancelled' | 'failed';

/** Where a request stands as the user sees it: a failure from /cancel reads as cancelled. */
export function lifecycleState(deliveryState: DeliveryState, deliveryError: string | null): LifecycleState {
  if (deliveryState === 'failed' && deliveryError === CANCELLED_BY_REQUESTER) return 'cancelled';
  return deliveryState;
}

/** The work a request waits for, as far as it got (the latest download of its track). */
export interface RequestWork {
  kind: 'separate' | 'analyze';
  /** NULL until chosen (a /separate without `model:`). */
  model: string | null;
  processingJobLinked: boolean;
  download: JobStatus | null;
  downloadError: string | null;
  separation: JobStatus | null;
  separationError: string | null;
  analysis: JobStatus | null;
  analysisError: string | null;
}

const ended = (s: JobStatus | null) => s === 'completed' || s === 'failed';

/** All the work the request waits for has ended (completed or failed). */
export function workEnded(w: RequestWork): boolean {
  const analysis = ended(w.analysis);
  if (w.kind === 'analyze') return analysis || w.download === 'failed';
  if (w.download === 'failed' && w.separation !== 'completed') return true;
  return w.model !== null && w.processingJobLinked && ended(w.separation) && analysis;
}

/** Final: failed (or cancelled), or delivered with nothing left running. */
export function isFinal(deliveryState: DeliveryState, w: RequestWork): boolean {
  if (deliveryState === 'failed') return true;
  return deliveryState === 'delivered' && workEnded(w);
}

/**
 * The failure an ended request reports, or undefined when its work gave what it asked for
 * (an /analyze request is then delivered by its DM, a /separate by its stems).
 */
export function workFailure(w: RequestWork): string | undefined {
  if (w.download === 'failed' && w.separation !== 'completed' && w.analysis !== 'completed') return `the download failed: ${w.downloadError ?? 'no reason given'}`;
  if (w.kind === 'separate' && w.separation === 'failed') return `the separation failed: ${w.separationError ?? 'no reason given'}`;
  if (w.kind === 'analyze' && w.analysis === 'failed') return `the analysis failed: ${w.analysisError ?? 'no reason given'}`;
  return undefined;
}

/** The failure of a /separate whose stems could not be sent after every attempt. */
export function stemsNotSent(error: string): string {
  return `the stems could not be sent: ${error.slice(0, 300)}`;
}

/** The note on a delivered request some of whose stems did not go out; null when all did. */
export function partialDelivery(failedStems: readonly string[]): string | null {
  return failedStems.length ? `some stems were not delivered (${failedStems.join('; ').slice(0, 500)})` : null;
}
