/**
 * Discord's message limits, counted here independently of src/domain/messages.ts
 * (a helper shared by the rendering tests, so a bug in fitEmbed cannot hide itself).
 */
import type { APIEmbed } from 'discord-api-types/v10';
import { expect } from 'vitest';
import type { MessagePayload } from '../../src/domain/messages.ts';

/** What Discord counts toward an embed's 6000 characters. */
export function embedTotal(e: APIEmbed): number {
  let n = (e.title ?? '').length + (e.description ?? '').length + (e.footer?.text ?? '').length + (e.author?.name ?? '').length;
  for (const f of e.fields ?? []) n += f.name.length + f.value.length;
  return n;
}

export function expectWithinLimits(payload: MessagePayload): void {
  expect((payload.content ?? '').length).toBeLessThanOrEqual(2000);
  expect((payload.embeds ?? []).length).toBeLessThanOrEqual(10);
  for (const e of payload.embeds ?? []) {
    expect((e.title ?? '').length).toBeLessThanOrEqual(256);
    expect((e.description ?? '').length).toBeLessThanOrEqual(4096);
    expect((e.fields ?? []).length).toBeLessThanOrEqual(25);
    for (const f of e.fields ?? []) {
      expect(f.name.length).toBeGreaterThan(0);
      expect(f.name.length).toBeLessThanOrEqual(256);
      expect(f.value.length).toBeGreaterThan(0);
      expect(f.value.length).toBeLessThanOrEqual(1024);
    }
    expect((e.footer?.text ?? '').length).toBeLessThanOrEqual(2048);
    expect(embedTotal(e)).toBeLessThanOrEqual(6000);
  }
  expect((payload.attachments ?? []).length).toBeLessThanOrEqual(10);
  // Plain JSON, ready for payload_json.
  expect(JSON.parse(JSON.stringify(payload))).toEqual(payload);
}

/** A lone surrogate (half an emoji) would make Discord reject or mangle the text. */
export const hasLoneSurrogate = (s: string) => /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
