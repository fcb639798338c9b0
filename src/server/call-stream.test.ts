/**
 * The call-stream lifecycle on its own: a recording endpoint, a call manager whose answer each
 * case chooses, and a session that records what reaches it. Every case is a sequence of events
 * and what must have happened by its end. The routes over it are covered end to end in
 * test/twilio-stream.test.ts and test/browser-harness.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { InboundFrame } from '../core/frames.js';
import { PHONE_AUDIO } from '../core/frames.js';
import { createLogger } from '../observability/logger.js';
import type { StartCallRequest, StartCallResult } from '../pipeline/call-manager.js';
import type { CallRecord } from '../core/call-record.js';
import type { CallSession, SessionTransport } from '../pipeline/call-session.js';
import { createCallStream } from './call-stream.js';
import type { CallStart, CallStream, CallStreamState, FrameOutcome, StreamEndpoint } from './call-stream.js';

const START_TIMEOUT_MS = 1_000;
const MAX_EARLY_FRAMES = 3;
const MAX_BUFFERED_BYTES = 100;

const audio = (n: number): InboundFrame => ({ kind: 'audio', audio: new Uint8Array([n]), timestampMs: n });
const text = (t: string): InboundFrame => ({ kind: 'text', text: t });
const STOP: InboundFrame = { kind: 'stop' };

/** What a route's `prepare` does with the start message. */
type Prepare = 'accept' | 'accept_later' | 'refuse' | 'throw';
type ManagerAnswer = 'ok' | 'at_capacity' | 'duplicate_call' | 'throw';

type Step =
  | { start: Prepare }
  | { frame: InboundFrame }
  | { manager: ManagerAnswer }
  | { sessionEnds: string }
  | 'endpoint closed'
  /** The route's slow check of the start (a token ledger) answers. */
  | 'admitted'
  | 'start timeout'
  | 'peer stops reading'
  | { close: [number, string] };

interface Expected {
  state: CallStreamState;
  /** What onStartRequested / onFrame / send returned, step by step. */
  returned?: Array<boolean | FrameOutcome>;
  /** What reached the session, in order, with `live` where onLive ran. */
  session?: string[];
  closes?: Array<[number, string]>;
  told?: string[];
  lastWords?: string[];
  starts?: number;
  /** Log lines as `level msg`. */
  logs?: string[];
}

interface Rig {
  stream: CallStream;
  endpoint: StreamEndpoint & { open: boolean; buffered: number; sent: unknown[]; closes: Array<[number, string]> };
  answer(with_: ManagerAnswer): void;
  /** What happened in the session's world, in order. */
  seen: string[];
  told: string[];
  lastWords: string[];
  starts: StartCallRequest[];
  logs: string[];
  session: ReturnType<typeof fakeSession> | undefined;
  /** A route's `prepare` for the start message. */
  prepare(how: Prepare): () => CallStart | undefined | Promise<CallStart | undefined>;
  /** Answers the slow check of an `accept_later` prepare. */
  admit(): void;
}

function fakeSession(callId: string, seen: string[]) {
  let resolveFinished: (record: CallRecord) => void = () => {};
  const finished = new Promise<CallRecord>((resolve) => (resolveFinished = resolve));
  const record = { callId, callerNumber: undefined, endReason: undefined } as Partial<CallRecord> as CallRecord;
  /** The session is over: its record is handed over, with why. */
  function finish(reason: string): void {
    if (record.endReason !== undefined) return;
    record.endReason = reason;
    resolveFinished(record);
  }
  const session: CallSession = {
    record,
    finished,
    start: async () => {},
    handle(frame) {
      seen.push(frame.kind === 'audio' ? `audio ${frame.audio[0]}` : frame.kind === 'text' ? `text ${frame.text}` : frame.kind);
    },
    async end(reason) {
      seen.push(`end ${reason}`);
      finish(reason);
    },
  };
  return Object.assign(session, { finish });
}

function rig(options: { onLiveThrows?: boolean } = {}): Rig {
  const seen: string[] = [];
  const told: string[] = [];
  const lastWords: string[] = [];
  const starts: StartCallRequest[] = [];
  const logs: string[] = [];
  let pending: ((answer: ManagerAnswer) => void) | undefined;
  let admit: (() => void) | undefined;
  const endpoint: Rig['endpoint'] = {
    open: true,
    buffered: 0,
    sent: [],
    closes: [],
    isOpen: () => endpoint.open,
    bufferedAmount: () => endpoint.buffered,
    send: (data) => endpoint.sent.push(data),
    close(code, reason) {
      // Every call recorded: the stream, not the endpoint, must close once.
      endpoint.open = false;
      endpoint.closes.push([code, reason]);
    },
  };
  const transport: SessionTransport = {
    format: PHONE_AUDIO,
    send: () => {},
    hangup: async () => {},
    transfer: async () => ({ transferred: false, message: '' }),
  };
  const logger = createLogger({
    level: 'info',
    destination: {
      write: (line) => {
        const { level, msg } = JSON.parse(line) as { level: number; msg: string };
        logs.push(`${({ 30: 'info', 40: 'warn', 50: 'error' } as Record<number, string>)[level]} ${msg}`);
      },
    },
  });
  const self: Rig = {
    seen,
    told,
    lastWords,
    starts,
    logs,
    endpoint,
    session: undefined,
    answer(answer) {
      if (pending === undefined) throw new Error('the call manager was not asked');
      pending(answer);
      pending = undefined;
    },
    admit() {
      admit?.();
    },
    prepare: (how) => () => {
      const call: CallStart = { callId: 'CA1', callerNumber: '+15550100000' };
      switch (how) {
        case 'accept':
          return call;
        case 'accept_later':
          return new Promise<CallStart>((resolve) => (admit = () => resolve(call)));
        case 'refuse':
          self.stream.close(1008, 'bad token');
          return undefined;
        case 'throw':
          throw new Error('token check crashed');
      }
    },
    stream: createCallStream({
      manager: {
        start(request) {
          starts.push(request);
          return new Promise<StartCallResult>((resolve, reject) => {
            pending = (answer) => {
              if (answer === 'throw') return reject(new Error('stt connect failed'));
              if (answer !== 'ok') return resolve({ ok: false, reason: answer });
              self.session = fakeSession(request.callId, seen);
              resolve({ ok: true, session: self.session });
            };
          });
        },
      },
      transportName: 'test',
      transport,
      endpoint,
      log: logger,
      peerName: 'test stream',
      limits: { startTimeoutMs: START_TIMEOUT_MS, maxEarlyFrames: MAX_EARLY_FRAMES, maxBufferedBytes: MAX_BUFFERED_BYTES },
      tell: (message) => told.push(message),
      beforeClose: (reason) => lastWords.push(reason),
      onLive: () => {
        seen.push('live');
        if (options.onLiveThrows === true) throw new Error('could not say started');
      },
    }),
  };
  return self;
}

/** Lets promise callbacks run (the timers are fake, setImmediate is not). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

async function run(steps: Step[], options: { onLiveThrows?: boolean } = {}) {
  const r = rig(options);
  const returned: Array<boolean | FrameOutcome> = [];
  for (const step of steps) {
    if (step === 'endpoint closed') {
      r.endpoint.open = false;
      r.stream.onEndpointClosed();
    } else if (step === 'admitted') {
      r.admit();
    } else if (step === 'start timeout') {
      vi.advanceTimersByTime(START_TIMEOUT_MS);
    } else if (step === 'peer stops reading') {
      r.endpoint.buffered = MAX_BUFFERED_BYTES + 1;
      returned.push(r.stream.send('x'));
    } else if ('start' in step) {
      returned.push(r.stream.onStartRequested(r.prepare(step.start)));
    } else if ('frame' in step) {
      returned.push(r.stream.onFrame(step.frame));
    } else if ('manager' in step) {
      r.answer(step.manager);
    } else if ('sessionEnds' in step) {
      r.session!.finish(step.sessionEnds);
    } else {
      r.stream.close(...step.close);
    }
    await settle();
  }
  return { r, returned };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});
afterEach(() => {
  vi.useRealTimers();
});

const cases: Array<[string, Step[], Expected, { onLiveThrows?: boolean }?]> = [
  [
    'start -> live -> stop: frames reach the session, which ends and closes the endpoint with its reason',
    [{ start: 'accept' }, { manager: 'ok' }, { frame: audio(1) }, { frame: STOP }, { sessionEnds: 'caller_hung_up' }],
    {
      state: 'closed',
      returned: [true, 'delivered', 'delivered'],
      session: ['live', 'audio 1', 'stop'],
      closes: [[1000, 'caller_hung_up']],
      lastWords: ['caller_hung_up'],
      told: [],
      starts: 1,
      logs: [],
    },
  ],
  [
    'the endpoint closes while the call starts: the call is stopped once it has started, held frames dropped',
    [{ start: 'accept' }, { frame: audio(1) }, 'endpoint closed', { manager: 'ok' }, { frame: audio(2) }],
    { state: 'closed', returned: [true, 'held', 'closed'], session: ['stop'], closes: [], lastWords: [], starts: 1 },
  ],
  [
    'the endpoint closes while the route checks the start: the call is still started, then stopped',
    [{ start: 'accept_later' }, 'endpoint closed', 'admitted', { manager: 'ok' }],
    { state: 'closed', session: ['stop'], closes: [], starts: 1 },
  ],
  [
    'the call manager refuses at capacity: 1013 with its reason, the client told why',
    [{ start: 'accept' }, { frame: audio(1) }, { manager: 'at_capacity' }],
    {
      state: 'closed',
      session: [],
      closes: [[1013, 'at_capacity']],
      told: ['the agent is not taking calls right now (at_capacity)'],
      lastWords: ['at_capacity'],
      logs: ['warn test stream refused: the agent is not taking calls right now (at_capacity)'],
    },
  ],
  [
    'the call manager refuses a duplicate call: 1008',
    [{ start: 'accept' }, { manager: 'duplicate_call' }],
    { state: 'closed', closes: [[1008, 'duplicate_call']] },
  ],
  [
    'the call manager throws: 1011 start_failed and one error line',
    [{ start: 'accept' }, { frame: audio(1) }, { manager: 'throw' }],
    {
      state: 'closed',
      session: [],
      closes: [[1011, 'start_failed']],
      told: ['the call could not be started'],
      lastWords: ['start_failed'],
      logs: ['error call failed to start'],
    },
  ],
  [
    "the route's check of the start throws: the same, and the call manager is never asked",
    [{ start: 'throw' }],
    { state: 'closed', closes: [[1011, 'start_failed']], told: ['the call could not be started'], starts: 0, logs: ['error call failed to start'] },
  ],
  [
    'the route refuses the start itself: its close stands, nothing is started, nothing more is said',
    [{ start: 'refuse' }, { frame: audio(1) }],
    { state: 'closed', returned: [true, 'closed'], closes: [[1008, 'bad token']], told: [], lastWords: ['bad token'], starts: 0, logs: [] },
  ],
  [
    'frames before start are not started, and not replayed once the call is live',
    [{ frame: audio(1) }, { frame: text('hi') }, { start: 'accept' }, { manager: 'ok' }],
    { state: 'live', returned: ['not_started', 'not_started', true], session: ['live'], closes: [] },
  ],
  [
    'frames that arrive while the call starts are replayed in order, after onLive',
    [{ start: 'accept' }, { frame: audio(1) }, { frame: text('two') }, { frame: audio(3) }, { manager: 'ok' }, { frame: audio(4) }],
    {
      state: 'live',
      returned: [true, 'held', 'held', 'held', 'delivered'],
      session: ['live', 'audio 1', 'text two', 'audio 3', 'audio 4'],
    },
  ],
  [
    'frames held while starting are bounded: the rest are dropped',
    [{ start: 'accept' }, { frame: audio(1) }, { frame: audio(2) }, { frame: audio(3) }, { frame: audio(4) }, { manager: 'ok' }],
    { state: 'live', returned: [true, 'held', 'held', 'held', 'dropped'], session: ['live', 'audio 1', 'audio 2', 'audio 3'] },
  ],
  [
    'no start in time: 1008 no_start, one warn line, the client told',
    ['start timeout', { start: 'accept' }],
    {
      state: 'closed',
      returned: [false],
      closes: [[1008, 'no_start']],
      told: ['no valid start message in time'],
      starts: 0,
      logs: ['warn test stream refused: no valid start message in time'],
    },
  ],
  [
    'the start timer stops once a start is asked for, however long the call takes to start',
    [{ start: 'accept' }, 'start timeout', 'start timeout', { manager: 'ok' }],
    { state: 'live', closes: [], logs: [] },
  ],
  [
    'a second start is refused to the route, and only one call is started',
    [{ start: 'accept' }, { start: 'accept' }, { manager: 'ok' }, { start: 'accept' }],
    { state: 'live', returned: [true, false, false], starts: 1, closes: [] },
  ],
  [
    'the session ends on its own (agent hung up, shutdown): the endpoint is closed with the reason',
    [{ start: 'accept' }, { manager: 'ok' }, { sessionEnds: 'agent_ended' }, { frame: audio(1) }],
    { state: 'closed', returned: [true, 'closed'], session: ['live'], closes: [[1000, 'agent_ended']], lastWords: ['agent_ended'] },
  ],
  [
    'the endpoint closes while live: the session is stopped as if the caller hung up, once',
    [{ start: 'accept' }, { manager: 'ok' }, 'endpoint closed', 'endpoint closed', { frame: audio(1) }],
    { state: 'closed', returned: [true, 'closed'], session: ['live', 'stop'], closes: [] },
  ],
  [
    'a peer that stops reading: the endpoint is closed first (1013), then the call ends',
    [{ start: 'accept' }, { manager: 'ok' }, 'peer stops reading', 'peer stops reading'],
    {
      state: 'closed',
      returned: [true, false, false],
      session: ['live', 'end client_not_reading'],
      closes: [[1013, 'client_not_reading']],
      logs: ['warn test stream is not reading: ending the call'],
    },
  ],
  [
    'the route closes the stream (Twilio stop): later closes and the session ending change nothing',
    [{ start: 'accept' }, { manager: 'ok' }, { frame: STOP }, { close: [1000, 'stopped'] }, { close: [1011, 'late'] }, { sessionEnds: 'caller_hung_up' }],
    { state: 'closed', session: ['live', 'stop'], closes: [[1000, 'stopped']], lastWords: ['stopped'] },
  ],
  [
    'a call that cannot be brought live (onLive throws) is ended, not left running without its peer',
    [{ start: 'accept' }, { manager: 'ok' }],
    { state: 'closed', session: ['live', 'end start_failed'], closes: [[1011, 'start_failed']], logs: ['error call failed to start'] },
    { onLiveThrows: true },
  ],
];

describe('call stream lifecycle', () => {
  it.each(cases)('%s', async (_name, steps, expected, options) => {
    const { r, returned } = await run(steps, options);
    expect(r.stream.state).toBe(expected.state);
    if (expected.returned !== undefined) expect(returned).toEqual(expected.returned);
    if (expected.session !== undefined) expect(r.seen).toEqual(expected.session);
    if (expected.closes !== undefined) expect(r.endpoint.closes).toEqual(expected.closes);
    if (expected.told !== undefined) expect(r.told).toEqual(expected.told);
    if (expected.lastWords !== undefined) expect(r.lastWords).toEqual(expected.lastWords);
    if (expected.starts !== undefined) expect(r.starts).toHaveLength(expected.starts);
    if (expected.logs !== undefined) expect(r.logs).toEqual(expected.logs);
  });

  it('starts the call the route asked for, on the transport it gave, under its transport name', async () => {
    const { r } = await run([{ start: 'accept' }]);
    expect(r.starts).toEqual([{ callId: 'CA1', callerNumber: '+15550100000', transportName: 'test', transport: expect.objectContaining({ format: PHONE_AUDIO }) }]);
  });

  it('sends within the bound, and nothing once closed', async () => {
    const { r } = await run([]);
    expect(r.stream.send('text')).toBe(true);
    expect(r.stream.send(new Uint8Array([1, 2]))).toBe(true);
    r.stream.close(1000, 'done');
    expect(r.stream.send('late')).toBe(false);
    expect(r.endpoint.sent).toEqual(['text', new Uint8Array([1, 2])]);
  });
});
