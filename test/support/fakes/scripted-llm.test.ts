import { describe, expect, it } from 'vitest';
import { isAbortError } from '../../../src/core/errors.js';
import type { ChatMessage, LlmEvent } from '../../../src/providers/llm.js';
import { createScriptedLlm } from './scripted-llm.js';

async function collect(iterable: AsyncIterable<LlmEvent>): Promise<LlmEvent[]> {
  const events: LlmEvent[] = [];
  for await (const event of iterable) events.push(event);
  return events;
}

const live = (): AbortSignal => new AbortController().signal;

describe('createScriptedLlm', () => {
  it('plays scripted steps in order, records copies of the requests and adds done', async () => {
    const llm = createScriptedLlm([
      [{ type: 'text', delta: 'Hello.' }],
      (request) => [{ type: 'text', delta: `You said ${request.messages.length} things.` }],
    ]);
    const messages: ChatMessage[] = [{ role: 'user', content: 'Hi' }];
    expect(await collect(llm.stream({ messages, tools: [], signal: live() }))).toEqual([
      { type: 'text', delta: 'Hello.' },
      { type: 'done', finishReason: 'stop' },
    ]);
    messages.push({ role: 'assistant', content: 'Hello.' });
    const second = await collect(llm.stream({ messages, tools: [], signal: live() }));
    expect(second[0]).toEqual({ type: 'text', delta: 'You said 2 things.' });
    expect(llm.requests.map((r) => r.messages.length)).toEqual([1, 2]);
    expect(llm.remaining()).toBe(0);
    await expect(collect(llm.stream({ messages, tools: [], signal: live() }))).rejects.toThrow(/no scripted response/);
  });

  it('ends tool-call responses with finishReason tool_calls and throws Error steps', async () => {
    const boom = new Error('model unavailable');
    const llm = createScriptedLlm([[{ type: 'tool_calls', calls: [{ id: 'c1', name: 'end_call', arguments: '{}' }] }], boom]);
    const events = await collect(llm.stream({ messages: [], tools: [], signal: live() }));
    expect(events.at(-1)).toEqual({ type: 'done', finishReason: 'tool_calls' });
    await expect(collect(llm.stream({ messages: [], tools: [], signal: live() }))).rejects.toBe(boom);
  });

  it('stops promptly on abort, throwing the abort reason', async () => {
    const llm = createScriptedLlm([[{ type: 'text', delta: 'One' }, { type: 'text', delta: 'two' }, { type: 'text', delta: 'three' }]], {
      firstTokenDelayMs: 10,
      interEventDelayMs: 1000,
    });
    const controller = new AbortController();
    const events: LlmEvent[] = [];
    const started = Date.now();
    const run = (async () => {
      for await (const event of llm.stream({ messages: [], tools: [], signal: controller.signal })) {
        events.push(event);
        controller.abort();
      }
    })();
    const error = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isAbortError(error)).toBe(true);
    expect(events).toEqual([{ type: 'text', delta: 'One' }]);
    expect(Date.now() - started).toBeLessThan(200);
  });
});
