/**
 * The bot's outbox: one row per thing that must reach Discord (a progress
 * edit, the stems, the analysis DM, a notice). Written in the transaction that
 * decides it; a sender claims due rows, so pending deliveries survive restarts.
 * progress_edit and dm are unique per request (partial unique index): progress
 * is coalesced by overwriting the row's payload, and a request sends one DM.
 */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { idColumn, timestampColumns } from './columns.ts';
import { Request } from './request.ts';
import { Batch } from './batch.ts';

/** batch_dm: an album's or playlist's one analysis DM (the row names the batch, not a request). */
export const DELIVERY_KINDS = ['progress_edit', 'stems', 'dm', 'notice', 'batch_dm'] as const;
export type DeliveryKind = (typeof DELIVERY_KINDS)[number];

/** pending (due at next_attempt_at) -> sending (claimed) -> sent | failed (gave up; last_error says why). */
export const OUTBOX_STATES = ['pending', 'sending', 'sent', 'failed'] as const;
export type OutboxState = (typeof OUTBOX_STATES)[number];

export const Delivery = defineEntity({
  name: 'Delivery',
  tableName: 'deliveries',
  properties: {
    id: idColumn(),
    request: () => p.manyToOne(Request).nullable().deleteRule('cascade').index('deliveries_request_id_index'),
    batch: () => p.manyToOne(Batch).nullable().deleteRule('cascade').index('deliveries_batch_id_index'),
    kind: p.enum(DELIVERY_KINDS),
    /** What to send (rendered message, stem ids and plan, ...), as the sender for `kind` expects it. */
    payload: p.json<Record<string, unknown>>(),
    state: p.enum(OUTBOX_STATES).default('pending'),
    attempts: p.integer().default(0),
    nextAttemptAt: p.datetime().defaultRaw('now()').onCreate(() => new Date()),
    lastError: p.text().nullable(),
    sentAt: p.datetime().nullable(),
    ...timestampColumns(),
  },
  checks: [
    { name: 'deliveries_attempts_check', expression: 'attempts >= 0' },
    { name: 'deliveries_sent_at_check', expression: "(state = 'sent') = (sent_at is not null)" },
    { name: 'deliveries_failed_error_check', expression: "state <> 'failed' or last_error is not null" },
    { name: 'deliveries_owner_check', expression: "(request_id is null) = (kind = 'batch_dm') and (batch_id is null) = (kind <> 'batch_dm')" },
  ],
  indexes: [
    { name: 'deliveries_state_next_attempt_at_index', properties: ['state', 'nextAttemptAt'] },
    {
      name: 'deliveries_request_id_kind_unique',
      expression:
        "create unique index deliveries_request_id_kind_unique on deliveries (request_id, kind) where kind in ('progress_edit', 'dm')",
    },
    {
      name: 'deliveries_batch_dm_unique',
      expression: "create unique index deliveries_batch_dm_unique on deliveries (batch_id) where kind = 'batch_dm'",
    },
  ],
});
export type IDelivery = InferEntity<typeof Delivery>;
