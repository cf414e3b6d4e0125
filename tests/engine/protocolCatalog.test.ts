/**
 * catalog/engine_protocol.json is the one list of the engine's command names,
 * message types and error codes; the zod schemas of the TypeScript side must
 * cover exactly those (python/tests/test_protocol_catalog.py checks the engine's side).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/config.ts';
import { ENGINE_ERROR_CODES, ENGINE_PROTOCOL, EngineMessage, EngineRequest, ErrorMessage } from '../../src/jobs/engine/protocol.ts';
import { failureMessage } from '../../src/jobs/workers/failures.ts';
import { EngineError } from '../../src/jobs/engine/client.ts';

const file = JSON.parse(readFileSync(path.join(REPO_ROOT, 'catalog/engine_protocol.json'), 'utf8')) as Record<'commands' | 'events' | 'errors', Record<string, string>>;
const sorted = (names: Iterable<string>) => [...names].sort();

describe('the engine protocol catalog', () => {
  it('is what the TypeScript side reads', () => {
    expect(ENGINE_PROTOCOL).toEqual(file);
  });

  it('has a request schema for every command, and no other', () => {
    expect(sorted(EngineRequest.options.map((schema) => schema.shape.cmd.value))).toEqual(sorted(Object.keys(file.commands)));
  });

  it('has a message schema for every event, and no other', () => {
    expect(sorted(EngineMessage.options.map((schema) => schema.shape.type.value))).toEqual(sorted(Object.keys(file.events)));
  });

  it('lists the error codes the client accepts, each with its own wording for users', () => {
    expect(sorted(ENGINE_ERROR_CODES)).toEqual(sorted(Object.keys(file.errors)));
    expect(sorted(ErrorMessage.shape.code.options)).toEqual(sorted(Object.keys(file.errors)));
    for (const code of ENGINE_ERROR_CODES) {
      expect(failureMessage('processing', new EngineError(code, 'x')), code).not.toMatch(/^The separation failed: x$/);
    }
  });
});
