import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startOpenAiEmulator } from '../../../test/emulators/openai.js';
import type { OpenAiEmulator } from '../../../test/emulators/openai.js';
import { isAbortError, ProviderError } from '../../core/errors.js';
import type { RetryInfo } from '../../core/retry.js';
import type { ChatMessage, LlmEvent, LlmProvider, LlmTool } from '../llm.js';
import { createOpenAiLlm } from './openai-llm.js';
import type { OpenAiLlmOptions } from './openai-llm.js';

let emulator: OpenAiEmulator;

// One emulator per test: an attempt cancelled at the end of one test can never take the next
// test's scripted response.
beforeEach(async () => {
  emulator = await startOpenAiEmulator();
});
afterEach(async () => {
  const unused = emulator.pending();
  await emulator.close();
  expect(unused, 'scripted responses left unconsumed').toBe(0);
});

const userTurn: ChatMessage[] = [
  { role: 'system', content: 'You answer the phone for Main Street Auto.' },
  { role: 'user', content: 'Can I book an oil change?' },
];

const tools: LlmTool[] = [
  {
    type: 'function',
    function: {
      name: 'get_available_slots',
      description: 'Free appointment slots on a date',
      parameters: { type: 'object', properties: { date: { type: 'string' } }, required: ['date'] },
    },
  },
  { type: 'function', function: { name: 'lookup_customer', parameters: { type: 'object', properties: {} } } },
];

function llm(overrides: Partial<OpenAiLlmOptions> = {}): LlmProvider {
  return createOpenAiLlm({ apiKey: emulator.apiKey, baseUrl: emulator.baseUrl, model: 'gpt-4o-mini', ...overrides });
}

async function collect(
  provider: LlmProvider,
  messages: readonly ChatMessage[] = userTurn,
  options: { tools?: readonly LlmTool[]; signal?: AbortSignal } = {},
): Promise<LlmEvent[]> {
  const events: LlmEvent[] = [];
  for await (const event of provider.stream({
    messages,
    tools: options.tools ?? [],
    signal: options.signal ?? new AbortController().signal,
  })) {
    events.push(event);
  }
  return events;
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

const lastRequest = () => emulator.requests.at(-1)!;

describe('createOpenAiLlm (real SDK against the emulator)', () => {
  it('streams text deltas in order, then done', async () => {
    emulator.script([{ text: 'Sure, I can help with that.', deltas: ['Sure', ',', ' I can', ' help', ' with that.'] }]);
    const events = await collect(llm());
    expect(events).toEqual([
      { type: 'text', delta: 'Sure' },
      { type: 'text', delta: ',' },
      { type: 'text', delta: ' I can' },
      { type: 'text', delta: ' help' },
      { type: 'text', delta: ' with that.' },
      { type: 'done', finishReason: 'stop' },
    ]);
    const body = lastRequest().body!;
    expect(body).toMatchObject({ model: 'gpt-4o-mini', stream: true, messages: userTurn });
    // Without tools OpenAI rejects both `tools: []` and `parallel_tool_calls`.
    expect(body).not.toHaveProperty('tools');
    expect(body).not.toHaveProperty('parallel_tool_calls');
    expect(lastRequest().headers.authorization).toBe(`Bearer ${emulator.apiKey}`);
  });

  it('assembles one tool call whose arguments arrive in fragments', async () => {
    const args = '{"date":"2026-12-01"}';
    emulator.script([
      { toolCalls: [{ id: 'call_slots', name: 'get_available_slots', arguments: args, argumentFragments: ['{"da', 'te":"2026', '-12-01"', '}'] }] },
    ]);
    const events = await collect(llm(), userTurn, { tools });
    expect(events).toEqual([
      { type: 'tool_calls', calls: [{ id: 'call_slots', name: 'get_available_slots', arguments: args }] },
      { type: 'done', finishReason: 'tool_calls' },
    ]);
    expect(lastRequest().body).toMatchObject({ tools, parallel_tool_calls: true });
  });

  it('assembles parallel tool calls by index, even with interleaved fragments', async () => {
    emulator.script([
      {
        text: 'Let me check.',
        interleave: true,
        toolCalls: [
          { id: 'call_a', name: 'lookup_customer', arguments: {}, fragments: 1 },
          { id: 'call_b', name: 'get_available_slots', arguments: { date: '2026-12-01' }, fragments: 5 },
        ],
      },
    ]);
    const events = await collect(llm(), userTurn, { tools });
    expect(events.filter((e) => e.type === 'text').map((e) => (e as { delta: string }).delta).join('')).toBe('Let me check.');
    expect(events.slice(-2)).toEqual([
      {
        type: 'tool_calls',
        calls: [
          { id: 'call_a', name: 'lookup_customer', arguments: '{}' },
          { id: 'call_b', name: 'get_available_slots', arguments: '{"date":"2026-12-01"}' },
        ],
      },
      { type: 'done', finishReason: 'tool_calls' },
    ]);
  });

  it("sends tool results in OpenAI's shape and the model can react to them", async () => {
    const conversation: ChatMessage[] = [
      ...userTurn,
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_available_slots', arguments: '{"date":"2026-12-01"}' } }],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '{"success":true,"data":["09:00","14:30"],"message":"Two slots."}' },
      { role: 'assistant', content: 'I have 9 or 2:30.' },
      { role: 'user', content: '2:30 please.' },
    ];
    emulator.script([
      (request) => {
        const tool = request.messages.find((m) => m['role'] === 'tool');
        return { text: `Got ${String(tool?.['tool_call_id'])}.` };
      },
    ]);
    const events = await collect(llm(), conversation, { tools });
    expect(events[0]).toEqual({ type: 'text', delta: 'Got' });
    expect(events.filter((e) => e.type === 'text').map((e) => (e as { delta: string }).delta).join('')).toBe('Got call_1.');
    // The emulator validates tool/assistant pairing as OpenAI does: a 400 would have failed above.
    expect(lastRequest().body?.messages).toEqual(conversation);
    expect(lastRequest().body?.tools).toEqual(tools);
  });

  it('retries a 500 transparently before the first token', async () => {
    emulator.script([{ error: { status: 500 } }, { text: 'Hello there.' }]);
    const retries: RetryInfo[] = [];
    const before = emulator.requests.length;
    const events = await collect(llm({ onRetry: (info) => retries.push(info) }));
    expect(events.at(-1)).toEqual({ type: 'done', finishReason: 'stop' });
    expect(events.filter((e) => e.type === 'text').length).toBeGreaterThan(0);
    expect(emulator.requests.length - before).toBe(2);
    expect(retries).toHaveLength(1);
    expect(retries[0]!.error).toBeInstanceOf(ProviderError);
    expect((retries[0]!.error as ProviderError).status).toBe(500);
  });

  it('retries a stream dropped before its first token', async () => {
    emulator.script([{ text: 'never heard', interrupt: { afterChunks: 1, mode: 'drop' } }, { text: 'Hello.' }]);
    const events = await collect(llm());
    expect(events).toEqual([
      { type: 'text', delta: 'Hello.' },
      { type: 'done', finishReason: 'stop' },
    ]);
  });

  it('honours Retry-After on a 429 when it fits in the budget', async () => {
    emulator.script([{ error: { status: 429, retryAfterSeconds: 0.3 } }, { text: 'Thanks for waiting.' }]);
    const retries: RetryInfo[] = [];
    const started = Date.now();
    const events = await collect(llm({ budgetMs: 2000, onRetry: (info) => retries.push(info) }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(events.at(-1)).toEqual({ type: 'done', finishReason: 'stop' });
    expect(retries.map((r) => r.delayMs)).toEqual([300]);
  });

  it('gives up at once when Retry-After does not fit in the budget', async () => {
    emulator.script([{ error: { status: 429, retryAfterSeconds: 5 } }]);
    const started = Date.now();
    const error = await failure(collect(llm({ budgetMs: 1000 })));
    expect(Date.now() - started).toBeLessThan(500);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ status: 429, retryable: true });
  });

  it('throws a retryable ProviderError after about the budget when 500s persist', async () => {
    emulator.setDefault({ error: { status: 500 } });
    const started = Date.now();
    const error = await failure(collect(llm({ budgetMs: 600, maxRetries: 100, baseDelayMs: 50 })));
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(ProviderError);
    // Even when the budget runs out mid-attempt, the failure reported is the 500 that caused the retries.
    expect(error).toMatchObject({ provider: 'openai', status: 500, retryable: true });
    expect(elapsed).toBeLessThan(900);
    expect(emulator.requests.length).toBeGreaterThan(2);
  });

  it('reports the failure that caused the retries when the budget runs out mid-attempt', async () => {
    emulator.script([{ error: { status: 503 } }, { text: 'too late', firstTokenDelayMs: 2000 }]);
    const error = await failure(collect(llm({ budgetMs: 400, baseDelayMs: 1 })));
    expect(error).toMatchObject({ status: 503, retryable: true });
    expect((error as Error).message).toMatch(/budget of 400 ms/);
    await vi.waitFor(() => expect(emulator.requests[1]?.clientAborted).toBe(true));
  });

  it('cancels a first token that does not come within the budget', async () => {
    emulator.script([{ text: 'too late', firstTokenDelayMs: 2000 }]);
    const before = emulator.completionRequests().length;
    const started = Date.now();
    const error = await failure(collect(llm({ budgetMs: 400 })));
    expect(Date.now() - started).toBeLessThan(700);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ retryable: true });
    expect((error as Error).message).toMatch(/first token/);
    await vi.waitFor(() => expect(lastRequest().clientAborted).toBe(true));
    // The budget was spent waiting: no second attempt.
    expect(emulator.completionRequests().length - before).toBe(1);
  });

  it('fails a 401 as non-retryable, without the API key in the message', async () => {
    const wrongKey = 'sk-proj-THISISAWRONGKEY0123456789abcdef';
    const before = emulator.requests.length;
    const error = await failure(collect(llm({ apiKey: wrongKey })));
    expect(error).toBeInstanceOf(ProviderError);
    const providerError = error as ProviderError;
    expect(providerError).toMatchObject({ status: 401, retryable: false });
    expect(providerError.message).not.toContain(wrongKey);
    expect(providerError.message).not.toContain(wrongKey.slice(-4));
    expect(providerError.message).toContain('invalid_api_key');
    expect(JSON.stringify(providerError)).not.toContain(wrongKey);
    expect(emulator.requests.length - before).toBe(1);
  });

  it('does not retry a failure after the first token', async () => {
    emulator.script([
      { text: 'Let me see what we have on Tuesday.', interrupt: { afterChunks: 3, mode: 'drop' } },
    ]);
    const before = emulator.requests.length;
    const events: LlmEvent[] = [];
    const error = await failure(
      (async () => {
        for await (const event of llm().stream({ messages: userTurn, tools: [], signal: new AbortController().signal })) {
          events.push(event);
        }
      })(),
    );
    expect(events).toEqual([
      { type: 'text', delta: 'Let' },
      { type: 'text', delta: ' me' },
    ]);
    expect(error).toBeInstanceOf(ProviderError);
    expect(emulator.requests.length - before).toBe(1);
  });

  it('treats a stream that ends without finish_reason as a failure, not a finished answer', async () => {
    emulator.script([{ text: 'We open at nine and', interrupt: { afterChunks: 3, mode: 'end' } }]);
    const error = await failure(collect(llm()));
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as Error).message).toMatch(/finish_reason/);
  });

  it('surfaces an SSE error event mid-stream as a ProviderError', async () => {
    emulator.script([{ text: 'One moment while I', interrupt: { afterChunks: 2, mode: 'error' } }]);
    const error = await failure(collect(llm()));
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as Error).message).toMatch(/server_error/);
  });

  it('gives up on a stream that stalls after the first token', async () => {
    emulator.script([{ text: 'Let me look that up for you.', interrupt: { afterChunks: 2, mode: 'hang' } }]);
    const started = Date.now();
    const error = await failure(collect(llm({ stallTimeoutMs: 200 })));
    expect(Date.now() - started).toBeLessThan(600);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as Error).message).toMatch(/stalled/);
    await vi.waitFor(() => expect(lastRequest().clientAborted).toBe(true), { timeout: 1000 });
  });

  it('stops promptly on abort mid-stream, throwing the abort reason, and the server sees the disconnect', async () => {
    emulator.script([{ text: 'Let me look that up for you.', interrupt: { afterChunks: 2, mode: 'hang' } }]);
    const controller = new AbortController();
    const events: LlmEvent[] = [];
    let abortedAt = 0;
    const error = await failure(
      (async () => {
        for await (const event of llm().stream({ messages: userTurn, tools: [], signal: controller.signal })) {
          events.push(event);
          if (events.length === 1) {
            setTimeout(() => {
              abortedAt = Date.now();
              controller.abort();
            }, 50);
          }
        }
      })(),
    );
    const stoppedAfterMs = Date.now() - abortedAt;
    expect(stoppedAfterMs).toBeLessThan(200);
    expect(isAbortError(error)).toBe(true);
    expect(error).toBe(controller.signal.reason);
    expect(events).toEqual([{ type: 'text', delta: 'Let' }]);
    const request = lastRequest();
    await vi.waitFor(() => expect(request.clientAborted).toBe(true), { timeout: 1000 });
    expect(request.closedAt! - abortedAt).toBeLessThan(200);
  });

  it('stops promptly on abort while waiting for the first token', async () => {
    emulator.script([{ text: 'slow', firstTokenDelayMs: 5000 }]);
    const controller = new AbortController();
    const reason = new Error('caller barged in');
    setTimeout(() => controller.abort(reason), 100);
    const started = Date.now();
    const error = await failure(collect(llm(), userTurn, { signal: controller.signal }));
    expect(error).toBe(reason);
    expect(Date.now() - started).toBeLessThan(300);
    await vi.waitFor(() => expect(lastRequest().clientAborted).toBe(true), { timeout: 1000 });
  });

  it('closes the HTTP stream when the consumer stops iterating early', async () => {
    emulator.script([{ text: 'One two three four five six.', interChunkDelayMs: 50 }]);
    for await (const event of llm().stream({ messages: userTurn, tools: [], signal: new AbortController().signal })) {
      expect(event.type).toBe('text');
      break;
    }
    await vi.waitFor(() => expect(lastRequest().clientAborted).toBe(true), { timeout: 1000 });
  });

  it('reflects injected first-token latency in the time to the first event', async () => {
    const timeToFirstEvent = async (firstTokenDelayMs: number): Promise<number> => {
      emulator.script([{ text: 'Hi there.', firstTokenDelayMs }]);
      const started = performance.now();
      let first = 0;
      for await (const event of llm().stream({ messages: userTurn, tools: [], signal: new AbortController().signal })) {
        if (first === 0 && event.type === 'text') first = performance.now() - started;
      }
      return first;
    };
    const fast = await timeToFirstEvent(0);
    const slow = await timeToFirstEvent(300);
    expect(slow).toBeGreaterThanOrEqual(295);
    expect(slow - fast).toBeGreaterThanOrEqual(250);
    expect(slow).toBeLessThan(1000);
  });

  it('passes temperature through when set', async () => {
    emulator.script([{ text: 'ok' }]);
    await collect(llm({ temperature: 0.2 }));
    expect(lastRequest().body?.temperature).toBe(0.2);
  });
});
