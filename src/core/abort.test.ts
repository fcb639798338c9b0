import { describe, expect, it } from 'vitest';
import { scopedSignal } from './abort.js';

describe('scopedSignal', () => {
  it('follows any of its sources until released, and nothing after', () => {
    const turn = new AbortController();
    const budget = new AbortController();
    const first = scopedSignal(turn.signal, undefined, budget.signal);
    budget.abort(new Error('budget spent'));
    expect(first.signal.aborted).toBe(true);
    expect(first.signal.reason).toEqual(new Error('budget spent'));

    const second = scopedSignal(turn.signal);
    second.release();
    turn.abort(new Error('barge-in'));
    expect(second.signal.aborted).toBe(false);
  });

  it('starts aborted when a source already is, with its reason', () => {
    const turn = new AbortController();
    turn.abort(new Error('gone'));
    const scope = scopedSignal(undefined, turn.signal);
    expect(scope.signal.aborted).toBe(true);
    expect(scope.signal.reason).toEqual(new Error('gone'));
  });
});
