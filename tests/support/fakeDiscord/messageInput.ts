/**
 * Validation of a message body the way Discord does it, so a bot that sends
 * something Discord would refuse fails here too: content and embed length
 * limits, empty messages, the per-file upload limit (413 / 40005), at most
 * 10 attachments (30015), and the `attachments` list deciding which files
 * an edit keeps.
 */
import type { APIEmbed, APIMessageTopLevelComponent } from 'discord-api-types/v10';
import { DiscordError, invalidFormBody, type UploadedFile } from './http.ts';
import type { StoredAttachment } from './world.ts';

export const MAX_CONTENT = 2000;
export const MAX_EMBEDS = 10;
export const MAX_ATTACHMENTS = 10;
export const DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024;

export interface MessageInput {
  content?: string;
  embeds?: APIEmbed[];
  components?: APIMessageTopLevelComponent[];
  flags?: number;
  /** Existing attachment ids to keep and/or `files[n]` indexes to add (as strings or numbers). */
  attachments?: { id: string | number; filename?: string; description?: string }[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function tooLong(path: (string | number)[], max: number): DiscordError {
  return invalidFormBody(path, 'BASE_TYPE_MAX_LENGTH', `Must be ${max} or fewer in length.`);
}

function checkEmbed(embed: unknown, i: number): number {
  if (!isObject(embed)) throw invalidFormBody(['embeds', i], 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
  let total = 0;
  const text = (value: unknown, path: (string | number)[], max: number) => {
    if (value === undefined || value === null) return;
    if (typeof value !== 'string') throw invalidFormBody(['embeds', i, ...path], 'BASE_TYPE_STRING', 'Could not interpret as string.');
    if (value.length > max) throw tooLong(['embeds', i, ...path], max);
    total += value.length;
  };
  text(embed.title, ['title'], 256);
  text(embed.description, ['description'], 4096);
  if (isObject(embed.footer)) text(embed.footer.text, ['footer', 'text'], 2048);
  if (isObject(embed.author)) text(embed.author.name, ['author', 'name'], 256);
  if (embed.fields !== undefined) {
    if (!Array.isArray(embed.fields)) throw invalidFormBody(['embeds', i, 'fields'], 'BASE_TYPE_LIST', 'Must be a list.');
    if (embed.fields.length > 25) throw tooLong(['embeds', i, 'fields'], 25);
    embed.fields.forEach((field: unknown, j) => {
      if (!isObject(field) || typeof field.name !== 'string' || typeof field.value !== 'string' || field.name === '' || field.value === '') {
        throw invalidFormBody(['embeds', i, 'fields', j], 'BASE_TYPE_REQUIRED', 'An embed field needs a non-empty name and value.');
      }
      text(field.name, ['fields', j, 'name'], 256);
      text(field.value, ['fields', j, 'value'], 1024);
    });
  }
  return total;
}

/** Checks the JSON part of a create/edit; returns it typed. */
export function parseMessageInput(json: unknown): MessageInput {
  if (json === undefined) return {};
  if (!isObject(json)) throw new DiscordError(400, 50109, 'The request body contains invalid JSON.');
  const input: MessageInput = {};
  if (json.content !== undefined && json.content !== null) {
    if (typeof json.content !== 'string') throw invalidFormBody(['content'], 'BASE_TYPE_STRING', 'Could not interpret as string.');
    if (json.content.length > MAX_CONTENT) throw tooLong(['content'], MAX_CONTENT);
    input.content = json.content;
  }
  if (json.embeds !== undefined && json.embeds !== null) {
    if (!Array.isArray(json.embeds)) throw invalidFormBody(['embeds'], 'BASE_TYPE_LIST', 'Must be a list.');
    if (json.embeds.length > MAX_EMBEDS) throw tooLong(['embeds'], MAX_EMBEDS);
    const total = json.embeds.reduce((sum: number, embed: unknown, i: number) => sum + checkEmbed(embed, i), 0);
    if (total > 6000) throw invalidFormBody(['embeds'], 'MAX_EMBED_SIZE_EXCEEDED', 'Embed size exceeds maximum size of 6000');
    input.embeds = json.embeds as APIEmbed[];
  }
  if (json.components !== undefined && json.components !== null) {
    if (!Array.isArray(json.components)) throw invalidFormBody(['components'], 'BASE_TYPE_LIST', 'Must be a list.');
    input.components = json.components as APIMessageTopLevelComponent[];
  }
  if (typeof json.flags === 'number') input.flags = json.flags;
  if (json.attachments !== undefined && json.attachments !== null) {
    if (!Array.isArray(json.attachments)) throw invalidFormBody(['attachments'], 'BASE_TYPE_LIST', 'Must be a list.');
    input.attachments = json.attachments.map((a: unknown, i: number) => {
      if (!isObject(a) || (typeof a.id !== 'string' && typeof a.id !== 'number')) {
        throw invalidFormBody(['attachments', i, 'id'], 'BASE_TYPE_REQUIRED', 'This field is required');
      }
      return {
        id: a.id,
        ...(typeof a.filename === 'string' ? { filename: a.filename } : {}),
        ...(typeof a.description === 'string' ? { description: a.description } : {}),
      };
    });
  }
  return input;
}

/** 413 / 40005 for a file over the limit, before anything is stored. */
export function checkFileSizes(files: UploadedFile[], limitBytes: number): void {
  for (const file of files) {
    if (file.data.length > limitBytes) throw new DiscordError(413, 40005, 'Request entity too large');
  }
}

/**
 * The attachments a message ends up with. Create: the uploaded files. Edit:
 * with an `attachments` list, exactly the listed existing ones plus the listed
 * new files; without one, the existing ones plus any new files.
 */
export function resolveAttachments(
  existing: StoredAttachment[],
  input: MessageInput,
  files: UploadedFile[],
  store: (file: UploadedFile, meta: { filename?: string; description?: string }) => StoredAttachment,
): StoredAttachment[] {
  const byIndex = new Map(files.map((f) => [String(f.index), f]));
  let result: StoredAttachment[];
  if (input.attachments) {
    const used = new Set<string>();
    result = input.attachments.map((entry, i) => {
      const id = String(entry.id);
      const kept = existing.find((a) => a.id === id);
      if (kept) return kept;
      const file = byIndex.get(id);
      if (!file) throw invalidFormBody(['attachments', i, 'id'], 'ATTACHMENT_NOT_FOUND', `Unknown attachment ${id}: neither an existing attachment nor an uploaded files[${id}]`);
      used.add(id);
      return store(file, entry);
    });
    for (const file of files) if (!used.has(String(file.index))) result.push(store(file, {}));
  } else {
    result = [...existing, ...files.map((f) => store(f, {}))];
  }
  if (result.length > MAX_ATTACHMENTS) throw new DiscordError(400, 30015, `Maximum number of attachments in a message reached (${MAX_ATTACHMENTS})`);
  return result;
}

export function isEmptyMessage(m: { content: string; embeds: unknown[]; components: unknown[]; attachments: unknown[] }): boolean {
  return m.content.trim() === '' && m.embeds.length === 0 && m.components.length === 0 && m.attachments.length === 0;
}
