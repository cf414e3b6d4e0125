/**
 * A reaction on a request's message that names a model, recorded by the
 * bot's global listener and handled from here (collectors live in memory;
 * these rows survive a restart). The decision itself is
 * src/domain/reactionChoice.ts; `outcome` records which one was taken.
 */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { idColumn, timestampColumns } from './columns.ts';
import { Request } from './request.ts';

/** pending -> handled (acted on) | ignored (decided to do nothing); handled_at is set when it leaves pending. */
export const REACTION_STATES = ['pending', 'handled', 'ignored'] as const;
export type ReactionState = (typeof REACTION_STATES)[number];

export const ReactionChoice = defineEntity({
  name: 'ReactionChoice',
  tableName: 'reaction_choices',
  properties: {
    id: idColumn(),
    request: () => p.manyToOne(Request).deleteRule('cascade').index('reaction_choices_request_id_index'),
    /** The message reacted on: the interaction reply or the channel message that replaced it. */
    messageId: p.text(),
    userId: p.text(),
    emoji: p.text(),
    model: p.text(),
    state: p.enum(REACTION_STATES).default('pending'),
    /** The decision taken: choose, reprocess, from_cache, or why it was ignored. */
    outcome: p.text().nullable(),
    /** The request a reprocess/from_cache reaction made; NULL otherwise. */
    spawnedRequest: () => p.manyToOne(Request).nullable().deleteRule('set null').index('reaction_choices_spawned_request_id_index'),
    handledAt: p.datetime().nullable(),
    ...timestampColumns(),
  },
  checks: [{ name: 'reaction_choices_handled_at_check', expression: "(state = 'pending') = (handled_at is null)" }],
  indexes: [{ name: 'reaction_choices_state_inserted_at_index', properties: ['state', 'insertedAt'] }],
});
export type IReactionChoice = InferEntity<typeof ReactionChoice>;
