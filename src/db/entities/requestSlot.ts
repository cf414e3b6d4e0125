/**
 * A user's place under SFA_USER_CONCURRENCY while a command is still being
 * prepared (its attachment fetched) and has no Request row yet. Taken and
 * counted under a per-user advisory lock (src/requests/slots.ts); removed
 * when the Request row is written or the command fails; expires_at bounds a
 * slot left by a process that died.
 */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { idColumn, timestampColumns } from './columns.ts';

export const RequestSlot = defineEntity({
  name: 'RequestSlot',
  tableName: 'request_slots',
  properties: {
    id: idColumn(),
    requesterId: p.text().index('request_slots_requester_id_index'),
    expiresAt: p.datetime(),
    ...timestampColumns(),
  },
});
export type IRequestSlot = InferEntity<typeof RequestSlot>;
