import { describe, expect, it } from 'vitest';
import { pollDelays } from '#shared/domain/messages.js';

const first = (expectedMs: number, n: number) => {
  const out: number[] = [];
  for (const d of pollDelays(expectedMs)) {
    out.push(d);
    if (out.length === n) break;
  }
  return out;
};

describe('the HTTP send waiting for its commit', () => {
  it('polls first just before the expected commit, then from a tenth of it, doubling to a quarter', () => {
    expect(first(2000, 6)).toEqual([1800, 200, 400, 500, 500, 500]);
  });

  it('polls a quick commit early and backs off to 100 ms at most', () => {
    expect(first(20, 6)).toEqual([18, 10, 20, 40, 80, 100]);
  });

  it('keeps its waits within bounds for extreme expectations', () => {
    expect(first(0, 3)).toEqual([5, 10, 20]);
    expect(first(60_000, 3)).toEqual([5000, 1000, 1000]);
  });
});
