/** decideRange: which bytes of a download to send for a Range header (RFC 9110). */
import { describe, expect, it } from 'vitest';
import { decideRange } from '../../src/bot/files/range.ts';

describe('decideRange', () => {
  const size = 1000;

  it('sends the whole file without a Range header', () => {
    expect(decideRange(undefined, size)).toEqual({ kind: 'full' });
  });

  it.each([
    ['bytes=0-99', 0, 99],
    ['bytes=100-199', 100, 199],
    ['bytes=900-', 900, 999],
    ['bytes=990-5000', 990, 999],
    ['bytes=-10', 990, 999],
    ['bytes=-5000', 0, 999],
    ['bytes=999-999', 999, 999],
    ['Bytes=5-9', 5, 9],
  ])('%s -> %i..%i', (header, start, end) => {
    expect(decideRange(header, size)).toEqual({ kind: 'partial', start, end });
  });

  it.each(['bytes=1000-', 'bytes=1000-1001', 'bytes=5000-', 'bytes=-0'])('%s cannot be satisfied', (header) => {
    expect(decideRange(header, size)).toEqual({ kind: 'unsatisfiable' });
  });

  it.each(['bytes=0-1,5-6', 'bytes=5-2', 'items=0-9', 'bytes=', 'bytes=-', 'bytes=a-b', 'bytes=0x10-', 'garbage', `bytes=${'9'.repeat(30)}-`])(
    '%s is ignored: the whole file',
    (header) => {
      expect(decideRange(header, size)).toEqual({ kind: 'full' });
    },
  );

  it('an empty file has no byte to send a range of', () => {
    expect(decideRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(decideRange('bytes=-1', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(decideRange(undefined, 0)).toEqual({ kind: 'full' });
  });
});
