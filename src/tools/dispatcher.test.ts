import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { sleep } from '../core/abort.js';
import { AppError } from '../core/errors.js';
import type { ToolCall, ToolResultInfo } from '../core/tool-port.js';
import { createToolDispatcher, type DispatchContext, type ToolErrorInfo } from './dispatcher.js';
import { ALL_TOOLS } from './index.js';
import { defineTool, fail, ok, type AnyTool, type ToolContext, type ToolResult, type ToolServices } from './tool.js';

const base: Omit<ToolContext, 'signal' | 'toolCallId'> = {
  callId: 'call-1',
  caller: { phoneNumber: '+15551234567', verifiedCustomerIds: new Set() },
  // The fake tools never touch the services.
  services: {} as ToolServices,
  actions: { transferToHuman: async () => ({ transferred: false, message: 'no' }), endCall: async () => {} },
};

interface Recorder {
  events: string[];
  results: Array<{ id: string; result: ToolResult; info: ToolResultInfo }>;
  fillers: string[];
  ctx: (signal?: AbortSignal) => DispatchContext;
}

function recorder(): Recorder {
  const events: string[] = [];
  const results: Recorder['results'] = [];
  const fillers: string[] = [];
  return {
    events,
    results,
    fillers,
    ctx: (signal = new AbortController().signal) => ({
      signal,
      base,
      onFiller: (text) => {
        fillers.push(text);
        events.push(`filler:${text}`);
      },
      onStart: (call) => events.push(`start:${call.id}`),
      onResult: (id, result, info) => {
        results.push({ id, result, info });
        events.push(`result:${id}:${info.outcome}`);
      },
    }),
  };
}

/** A tool that sleeps `ms`, honouring its signal unless told not to, and logs start and end. */
function sleeper(
  name: string,
  options: { ms: number; mutates?: boolean; filler?: string | null; timeoutMs?: number; ignoreSignal?: boolean; log?: string[] },
): AnyTool & { runs: number; finished: number; seenSignals: AbortSignal[] } {
  const tool = {
    ...defineTool({
      name,
      description: `Sleeps ${options.ms} ms.`,
      parameters: z.object({ label: z.string().optional() }),
      filler: options.filler === undefined ? `Filler of ${name}.` : options.filler,
      timeoutMs: options.timeoutMs ?? 2_000,
      mutates: options.mutates ?? false,
      async execute(args, { signal, toolCallId }) {
        tool.runs += 1;
        tool.seenSignals.push(signal);
        options.log?.push(`begin:${toolCallId}`);
        await sleep(options.ms, options.ignoreSignal ? undefined : signal);
        tool.finished += 1;
        options.log?.push(`end:${toolCallId}`);
        return ok({ name, label: args.label ?? null }, `${name} done`);
      },
    }),
    runs: 0,
    finished: 0,
    seenSignals: [] as AbortSignal[],
  };
  return tool;
}

function call(id: string, name: string, args: unknown = {}): ToolCall {
  return { id, name, arguments: typeof args === 'string' ? args : JSON.stringify(args) };
}

const dateTool = defineTool({
  name: 'get_slots',
  description: 'Free slots on a day.',
  parameters: z.object({
    date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD').describe('The day, YYYY-MM-DD.'),
    kind: z.enum(['oil', 'tires']),
    duration_minutes: z.number().int().min(15).max(480).default(60),
  }),
  async execute(args) {
    return ok(args, 'slots');
  },
});

describe('createToolDispatcher', () => {
  it('exposes the OpenAI tools once and refuses duplicate names', () => {
    const d = createToolDispatcher({ tools: [dateTool, sleeper('a', { ms: 1 })] });
    expect(d.tools.map((t) => t.function.name)).toEqual(['get_slots', 'a']);
    expect(() => createToolDispatcher({ tools: [sleeper('a', { ms: 1 }), sleeper('a', { ms: 1 })] })).toThrow(/more than one/);
  });

  describe('filler', () => {
    it('is announced before any handler starts and before any result is delivered', async () => {
      const fast = sleeper('fast', { ms: 0, filler: 'Let me check.' });
      const rec = recorder();
      const d = createToolDispatcher({ tools: [fast, dateTool] });
      const results = await d.dispatch(
        [call('c1', 'get_slots', '{not json'), call('c2', 'nope'), call('c3', 'fast'), call('c4', 'get_slots', { date: '2030-01-02', kind: 'oil' })],
        rec.ctx(),
      );
      expect(rec.events[0]).toBe('filler:Let me check.');
      expect(rec.fillers).toEqual(['Let me check.']);
      expect(rec.events.filter((e) => e.startsWith('result:')).sort()).toEqual(
        ['result:c1:invalid', 'result:c2:unknown_tool', 'result:c3:ok', 'result:c4:ok'].sort(),
      );
      expect(results.map((r) => r.id)).toEqual(['c1', 'c2', 'c3', 'c4']);
    });

    it('is called synchronously, before dispatch returns', () => {
      const rec = recorder();
      const d = createToolDispatcher({ tools: [sleeper('a', { ms: 0 })] });
      void d.dispatch([call('c1', 'a')], rec.ctx());
      expect(rec.fillers).toEqual(['Filler of a.']);
    });

    it('says one phrase per batch: the first valid call with a filler', async () => {
      const rec = recorder();
      const d = createToolDispatcher({
        tools: [sleeper('silent', { ms: 0, filler: null }), sleeper('a', { ms: 0 }), sleeper('b', { ms: 0 })],
      });
      await d.dispatch([call('c1', 'a', '[]'), call('c2', 'silent'), call('c3', 'b'), call('c4', 'a')], rec.ctx());
      expect(rec.fillers).toEqual(['Filler of b.']);
      await d.dispatch([call('c5', 'a'), call('c6', 'b')], rec.ctx());
      expect(rec.fillers).toEqual(['Filler of b.', 'Filler of a.']);
    });

    it('is not said when no call is valid or no tool has a filler', async () => {
      const rec = recorder();
      const d = createToolDispatcher({ tools: [sleeper('silent', { ms: 0, filler: null }), dateTool] });
      await d.dispatch([call('c1', 'get_slots', { date: 'tomorrow' }), call('c2', 'missing')], rec.ctx());
      await d.dispatch([call('c3', 'silent')], rec.ctx());
      expect(rec.fillers).toEqual([]);
      expect(rec.results.map((r) => r.info.outcome)).toEqual(['invalid', 'unknown_tool', 'ok']);
    });
  });

  describe('running', () => {
    it('runs read-only calls concurrently', async () => {
      const a = sleeper('a', { ms: 100 });
      const b = sleeper('b', { ms: 100 });
      const d = createToolDispatcher({ tools: [a, b] });
      const started = performance.now();
      const results = await d.dispatch([call('c1', 'a'), call('c2', 'b')], recorder().ctx());
      const elapsed = performance.now() - started;
      expect(results.every((r) => r.result.success)).toBe(true);
      expect(elapsed).toBeGreaterThanOrEqual(95);
      expect(elapsed).toBeLessThan(180);
    });

    it('runs mutating calls one after another in call order, alongside read-only ones', async () => {
      const log: string[] = [];
      const book = sleeper('book', { ms: 60, mutates: true, log });
      const cancel = sleeper('cancel', { ms: 20, mutates: true, log });
      const read = sleeper('read', { ms: 10, log });
      const d = createToolDispatcher({ tools: [book, cancel, read] });
      const results = await d.dispatch([call('m1', 'book'), call('m2', 'cancel'), call('r1', 'read')], recorder().ctx());
      expect(log).toEqual(['begin:m1', 'begin:r1', 'end:r1', 'end:m1', 'begin:m2', 'end:m2']);
      expect(results.map((r) => r.id)).toEqual(['m1', 'm2', 'r1']);
    });

    it('hands each handler the call id and a signal of its own', async () => {
      const seen: string[] = [];
      const tool = defineTool({
        name: 'echo',
        description: 'Echoes.',
        parameters: z.object({}),
        async execute(_args, ctx) {
          seen.push(`${ctx.toolCallId}:${ctx.callId}:${ctx.signal.aborted}`);
          return ok(null, 'ok');
        },
      });
      const d = createToolDispatcher({ tools: [tool] });
      const results = await d.dispatch([call('t1', 'echo', '')], recorder().ctx());
      expect(seen).toEqual(['t1:call-1:false']);
      expect(results[0]?.result).toEqual({ success: true, data: null, message: 'ok' });
    });
  });

  describe('timeouts and aborts', () => {
    it('settles a slow call as timeout, aborts its signal, and drops the late result', async () => {
      const stubborn = sleeper('stubborn', { ms: 200, timeoutMs: 50, ignoreSignal: true });
      const rec = recorder();
      const d = createToolDispatcher({ tools: [stubborn] });
      const started = performance.now();
      const results = await d.dispatch([call('c1', 'stubborn')], rec.ctx());
      expect(performance.now() - started).toBeLessThan(150);
      expect(results[0]?.result).toMatchObject({ success: false, error: 'timeout' });
      expect(results[0]?.result.message).toMatch(/taking too long/);
      expect(stubborn.seenSignals[0]?.aborted).toBe(true);
      expect((stubborn.seenSignals[0]?.reason as Error).name).toBe('TimeoutError');

      await sleep(250);
      expect(stubborn.finished).toBe(1);
      expect(rec.results).toHaveLength(1);
      expect(rec.results[0]?.info.outcome).toBe('timeout');
      expect(rec.results[0]?.result.success).toBe(false);
    });

    it('aborts every call of the batch promptly, whether or not handlers listen', async () => {
      const listening = sleeper('listening', { ms: 1_000 });
      const deaf = sleeper('deaf', { ms: 300, ignoreSignal: true });
      const first = sleeper('first', { ms: 1_000, mutates: true });
      const queued = sleeper('queued', { ms: 10, mutates: true });
      const rec = recorder();
      const d = createToolDispatcher({ tools: [listening, deaf, first, queued] });
      const turn = new AbortController();
      setTimeout(() => turn.abort(), 30);
      const started = performance.now();
      const results = await d.dispatch(
        [call('c1', 'listening'), call('c2', 'deaf'), call('c3', 'first'), call('c4', 'queued')],
        rec.ctx(turn.signal),
      );
      expect(performance.now() - started).toBeLessThan(150);
      expect(results.map((r) => r.result.success ? 'ok' : r.result.error)).toEqual(['aborted', 'aborted', 'aborted', 'aborted']);
      expect(results[2]?.result.message).toMatch(/cannot confirm/);
      expect(results[3]?.result.message).toMatch(/before it started/);
      expect(queued.runs).toBe(0);

      await sleep(350);
      expect(deaf.finished).toBe(1);
      expect(rec.results.map((r) => r.info.outcome)).toEqual(['aborted', 'aborted', 'aborted', 'aborted']);
    });

    it('runs nothing and says nothing when the turn is already aborted', async () => {
      const a = sleeper('a', { ms: 10 });
      const rec = recorder();
      const d = createToolDispatcher({ tools: [a] });
      const results = await d.dispatch([call('c1', 'a')], rec.ctx(AbortSignal.abort()));
      expect(a.runs).toBe(0);
      expect(rec.fillers).toEqual([]);
      expect(results[0]?.result).toMatchObject({ success: false, error: 'aborted' });
    });
  });

  describe('validation', () => {
    it('rejects arguments that are not JSON without running the handler', async () => {
      const a = sleeper('a', { ms: 0 });
      const d = createToolDispatcher({ tools: [a] });
      const [r] = await d.dispatch([call('c1', 'a', '{"label": ')], recorder().ctx());
      expect(r?.result).toEqual({ success: false, error: 'invalid_arguments', message: 'Invalid arguments: not valid JSON.' });
      expect(a.runs).toBe(0);
    });

    it('names the field and the problem on a schema failure', async () => {
      const rec = recorder();
      const d = createToolDispatcher({ tools: [dateTool] });
      const [bad, missing, notObject] = await d.dispatch(
        [
          call('c1', 'get_slots', { date: '01/02/2030', kind: 'oil' }),
          call('c2', 'get_slots', { date: '2030-01-02', duration_minutes: 5 }),
          call('c3', 'get_slots', '[1]'),
        ],
        rec.ctx(),
      );
      expect(bad?.result).toMatchObject({ success: false, error: 'invalid_arguments' });
      expect(bad?.result.message).toContain('Invalid argument date: expected YYYY-MM-DD');
      expect(missing?.result.message).toContain('Missing argument kind.');
      expect(missing?.result.message).toContain('Invalid argument duration_minutes:');
      expect(notObject?.result.message).toMatch(/^Invalid arguments: .*expected object/);
      expect(rec.results.map((r) => r.info.outcome)).toEqual(['invalid', 'invalid', 'invalid']);
    });

    it('treats empty arguments as {} and applies defaults', async () => {
      const seen: unknown[] = [];
      const tool = defineTool({
        name: 'defaults',
        description: 'Has defaults.',
        parameters: z.object({ minutes: z.number().default(30) }),
        async execute(args) {
          seen.push(args);
          return ok(args, 'ok');
        },
      });
      const d = createToolDispatcher({ tools: [tool] });
      await d.dispatch([call('c1', 'defaults', ''), call('c2', 'defaults', '  ')], recorder().ctx());
      expect(seen).toEqual([{ minutes: 30 }, { minutes: 30 }]);
    });

    it('answers an unknown tool by name', async () => {
      const d = createToolDispatcher({ tools: [dateTool] });
      const [r] = await d.dispatch([call('c1', 'book_flight')], recorder().ctx());
      expect(r).toEqual({
        id: 'c1',
        name: 'book_flight',
        result: { success: false, error: 'unknown_tool', message: 'There is no tool named book_flight.' },
      });
    });
  });

  describe('duplicate call ids', () => {
    it('runs a repeated id once within a batch and across batches, giving the first result', async () => {
      const book = sleeper('book', { ms: 30, mutates: true });
      const rec = recorder();
      const d = createToolDispatcher({ tools: [book] });
      const first = await d.dispatch([call('c1', 'book', { label: 'x' }), call('c1', 'book', { label: 'y' })], rec.ctx());
      const second = await d.dispatch([call('c1', 'book', { label: 'z' })], rec.ctx());
      expect(book.runs).toBe(1);
      const original = first[0]?.result;
      expect(original).toEqual({ success: true, data: { name: 'book', label: 'x' }, message: 'book done' });
      expect(first[1]?.result).toEqual(original);
      expect(second[0]?.result).toEqual(original);
      expect(rec.results.map((r) => `${r.id}:${r.info.outcome}`)).toEqual(['c1:ok', 'c1:duplicate', 'c1:duplicate']);
    });

    it('waits for a first call still in flight from an earlier batch', async () => {
      const slow = sleeper('slow', { ms: 60 });
      const rec = recorder();
      const d = createToolDispatcher({ tools: [slow] });
      const inFlight = d.dispatch([call('c1', 'slow')], rec.ctx());
      const again = await d.dispatch([call('c1', 'slow')], rec.ctx());
      await inFlight;
      expect(slow.runs).toBe(1);
      expect(again[0]?.result.success).toBe(true);
      expect(rec.results.map((r) => r.info.outcome)).toEqual(['ok', 'duplicate']);
    });
  });

  describe('errors', () => {
    function thrower(name: string, error: () => unknown, sync = false): AnyTool {
      return defineTool({
        name,
        description: 'Throws.',
        parameters: z.object({}),
        execute: sync
          ? () => {
              throw error();
            }
          : async () => {
              throw error();
            },
      });
    }

    it('maps an AppError to its code and safe message without reporting it', async () => {
      const errors: ToolErrorInfo[] = [];
      const d = createToolDispatcher({
        tools: [thrower('taken', () => new AppError('slot_taken', 'exclusion constraint violated on row 42', { safeMessage: 'That time was just taken.' }))],
        onError: (info) => errors.push(info),
      });
      const [r] = await d.dispatch([call('c1', 'taken')], recorder().ctx());
      expect(r?.result).toEqual({ success: false, error: 'slot_taken', message: 'That time was just taken.' });
      expect(errors).toEqual([]);
    });

    it('maps any other error to internal_error, reports it, and leaks nothing', async () => {
      const errors: ToolErrorInfo[] = [];
      const secret = new Error('connect ECONNREFUSED postgres://admin:hunter2@db');
      const rec = recorder();
      const d = createToolDispatcher({
        tools: [thrower('boom', () => secret), thrower('sync_boom', () => 'a string', true)],
        onError: (info) => errors.push(info),
      });
      const results = await d.dispatch([call('c1', 'boom'), call('c2', 'sync_boom')], rec.ctx());
      for (const r of results) {
        expect(r.result).toEqual({ success: false, error: 'internal_error', message: 'Sorry, something went wrong on our side.' });
        const text = JSON.stringify(r.result);
        expect(text).not.toContain('hunter2');
        expect(text).not.toContain('at ');
      }
      expect(errors.map((e) => [e.toolCallId, e.source, e.error])).toEqual([
        ['c1', 'handler', secret],
        ['c2', 'handler', 'a string'],
      ]);
      expect(rec.results.map((r) => r.info.outcome)).toEqual(['error', 'error']);
    });

    it('delivers JSON-safe results: dates become strings, unserialisable data is an internal error', async () => {
      const errors: ToolErrorInfo[] = [];
      const dated = defineTool({
        name: 'dated',
        description: 'Returns a date.',
        parameters: z.object({}),
        execute: async () => ok({ at: new Date('2030-01-02T15:00:00Z'), skip: undefined }, 'ok'),
      });
      const bigint = defineTool({
        name: 'bigint',
        description: 'Returns a bigint.',
        parameters: z.object({}),
        execute: async () => ok({ n: 1n }, 'ok'),
      });
      const d = createToolDispatcher({ tools: [dated, bigint], onError: (info) => errors.push(info) });
      const [a, b] = await d.dispatch([call('c1', 'dated'), call('c2', 'bigint')], recorder().ctx());
      expect(a?.result).toEqual({ success: true, data: { at: '2030-01-02T15:00:00.000Z' }, message: 'ok' });
      expect(b?.result).toMatchObject({ success: false, error: 'internal_error' });
      expect(errors).toHaveLength(1);
    });

    it('survives callbacks that throw', async () => {
      const errors: ToolErrorInfo[] = [];
      const d = createToolDispatcher({ tools: [sleeper('a', { ms: 0 })], onError: (info) => errors.push(info) });
      const results = await d.dispatch([call('c1', 'a')], {
        signal: new AbortController().signal,
        base,
        onFiller: () => {
          throw new Error('tts down');
        },
        onResult: () => {
          throw new Error('socket closed');
        },
      });
      expect(results[0]?.result.success).toBe(true);
      expect(errors.map((e) => e.source)).toEqual(['callback', 'callback']);
    });
  });

  describe('call outcomes', () => {
    /** A record-changing tool that succeeds, or fails with `success: false`, as its argument says. */
    function changer(name: string, outcome: AnyTool['outcome']): AnyTool {
      return defineTool({
        name,
        description: `Changes a record (${name}).`,
        parameters: z.object({ succeed: z.boolean(), transferred: z.boolean().optional() }),
        mutates: true,
        outcome,
        async execute(args) {
          return args.succeed ? ok({ transferred: args.transferred ?? false }, 'done') : fail('slot_taken', 'That time is taken.');
        },
      });
    }

    it('reports the outcome a tool declares only for a call that ran and succeeded', async () => {
      const book = changer('book', 'booked');
      const read = sleeper('read', { ms: 1 });
      const rec = recorder();
      const d = createToolDispatcher({ tools: [book, read] });
      await d.dispatch(
        [call('c1', 'book', { succeed: true }), call('c2', 'book', { succeed: false }), call('c3', 'read'), call('c4', 'book', {})],
        rec.ctx(),
      );
      // A repeated id changed nothing the second time.
      await d.dispatch([call('c1', 'book', { succeed: true })], rec.ctx());
      // Results arrive as calls settle: the invalid call first.
      expect(rec.results.map((r) => [r.id, r.info.outcome, r.info.callOutcome]).sort()).toEqual([
        ['c1', 'duplicate', undefined],
        ['c1', 'ok', 'booked'],
        ['c2', 'ok', undefined],
        ['c3', 'ok', undefined],
        ['c4', 'invalid', undefined],
      ]);
    });

    it('lets a tool decide its outcome from the result, and survives a decision that throws', async () => {
      const transfer = changer('transfer', (data) => ((data as { transferred: boolean }).transferred ? 'transferred' : undefined));
      const broken = changer('broken', () => {
        throw new Error('bad outcome');
      });
      const errors: ToolErrorInfo[] = [];
      const rec = recorder();
      const d = createToolDispatcher({ tools: [transfer, broken], onError: (info) => errors.push(info) });
      await d.dispatch(
        [call('c1', 'transfer', { succeed: true, transferred: false }), call('c2', 'transfer', { succeed: true, transferred: true }), call('c3', 'broken', { succeed: true })],
        rec.ctx(),
      );
      expect(rec.results.map((r) => r.info.callOutcome)).toEqual([undefined, 'transferred', undefined]);
      expect(rec.results[2]?.result.success).toBe(true);
      expect(errors.map((e) => e.toolCallId)).toEqual(['c3']);
    });

    it('refuses an outcome on a tool that changes no records', () => {
      expect(() =>
        defineTool({ name: 'peek', description: 'Reads.', parameters: z.object({}), outcome: 'booked', execute: async () => ok(null, 'ok') }),
      ).toThrow(/declares an outcome but does not change records/);
    });
  });

  describe('ending the call', () => {
    const hangUp = defineTool({
      name: 'hang_up',
      description: 'Ends the call.',
      parameters: z.object({ note: z.string().optional() }),
      filler: null,
      mutates: true,
      endsCall: true,
      execute: async () => ok(null, 'Goodbye.'),
    });

    it('says a call ends the call when its tool declares so, even with bad arguments, and no other call does', async () => {
      const rec = recorder();
      const d = createToolDispatcher({ tools: [hangUp, dateTool] });
      await d.dispatch([call('c1', 'hang_up'), call('c2', 'hang_up', { note: 7 }), call('c3', 'get_slots'), call('c4', 'nope')], rec.ctx());
      expect(rec.results.map((r) => [r.id, r.info.outcome, r.info.endsCall]).sort()).toEqual([
        ['c1', 'ok', true],
        ['c2', 'invalid', true],
        ['c3', 'invalid', false],
        ['c4', 'unknown_tool', false],
      ]);
    });

    it('is declared by end_call alone among the shop tools', () => {
      expect(ALL_TOOLS.filter((t) => t.endsCall === true).map((t) => t.name)).toEqual(['end_call']);
    });
  });
});
