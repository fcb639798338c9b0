/**
 * Starts and tracks the calls of this process. Transports (Twilio, browser) ask it for a session
 * and feed it frames; it enforces the concurrent-call limit, hands finished calls' records to
 * whoever stores them, and drains on shutdown: no new calls, live ones finish up to a deadline.
 */
import type { CallRecord } from '../core/call-record.js';
import type { SessionEvent } from '../core/frames.js';
import type { InstructionsPort } from '../core/instructions-port.js';
import type { ToolPortFactory } from '../core/tool-port.js';
import type { LlmProvider } from '../providers/llm.js';
import type { SttProvider } from '../providers/stt.js';
import type { TtsProvider } from '../providers/tts.js';
import type { VadProvider } from '../providers/vad.js';
import { createCallSession } from './call-session.js';
import type { CallSession, SessionPhrases, SessionTiming, SessionTransport } from './call-session.js';

export interface CallProviders {
  /** Undefined: no speech input (typed turns only). */
  stt: SttProvider | undefined;
  llm: LlmProvider;
  /** Undefined: text-only replies. */
  tts: TtsProvider | undefined;
  /** Local voice activity detection (confirms barge-in quickly); undefined: STT words only. */
  vad?: VadProvider | undefined;
}

/**
 * Call slots shared by several processes (cluster workers): the limit holds for all of them, not
 * for each. Without it the limit counts this process's calls.
 */
export interface CallSlots {
  /** Takes one slot; false when every slot is taken. */
  acquire(): Promise<boolean>;
  /** Gives back a slot taken by acquire. */
  release(): void;
  /** Whether a slot was free when last heard (for the webhook's answer; start() is what decides). */
  available(): boolean;
}

export interface CallManagerOptions {
  providers: CallProviders;
  /** Each call's tools (the application's side of the tool port, wired in main.ts). */
  tools: ToolPortFactory;
  /** The system instructions of each LLM request. */
  instructions: InstructionsPort;
  phrases: SessionPhrases;
  timing?: Partial<SessionTiming>;
  maxConcurrentCalls: number;
  /** Set when other processes share the limit; then maxConcurrentCalls is enforced by whoever owns the slots. */
  slots?: CallSlots;
  keyterms?: readonly string[];
  /** Pre-synthesised apology audio per audio format key (see formatKey). */
  apologyAudio?: ReadonlyMap<string, Uint8Array>;
  /** Pre-synthesised greeting audio per audio format key. */
  greetingAudio?: ReadonlyMap<string, Uint8Array>;
  onCallStarted?: (info: { callId: string; transport: string; callerNumber: string | undefined }) => void;
  onCallEnded?: (record: CallRecord, info: { transport: string }) => void | Promise<void>;
  onSessionEvent?: (callId: string, event: SessionEvent) => void;
  onError?: (callId: string, error: unknown, where: string) => void;
}

export interface StartCallRequest {
  callId: string;
  callerNumber: string | undefined;
  /** 'twilio', 'browser', ... for records and metrics. */
  transportName: string;
  transport: SessionTransport;
  /** Override providers for this call (e.g. typed turns need no STT). */
  providers?: Partial<CallProviders>;
}

export type StartCallResult =
  | { ok: true; session: CallSession }
  | { ok: false; reason: 'at_capacity' | 'draining' | 'duplicate_call' };

export interface CallManager {
  /** Whether a new call would be accepted now (the webhook answers politely when not). */
  accepting(): boolean;
  start(request: StartCallRequest): Promise<StartCallResult>;
  activeCalls(): number;
  /** Stops accepting, waits for live calls up to `timeoutMs`, then ends the rest. */
  drain(timeoutMs: number): Promise<{ finished: number; cutOff: number }>;
}

export function formatKey(format: { encoding: string; sampleRate: number }): string {
  return `${format.encoding}/${format.sampleRate}`;
}

export function createCallManager(options: CallManagerOptions): CallManager {
  const live = new Map<string, { session: CallSession; transport: string }>();
  let draining = false;
  const slots = options.slots;

  return {
    accepting() {
      if (draining) return false;
      return slots === undefined ? live.size < options.maxConcurrentCalls : slots.available();
    },

    async start(request) {
      if (draining) return { ok: false, reason: 'draining' };
      if (slots === undefined) {
        if (live.size >= options.maxConcurrentCalls) return { ok: false, reason: 'at_capacity' };
        if (live.has(request.callId)) return { ok: false, reason: 'duplicate_call' };
      } else {
        if (live.has(request.callId)) return { ok: false, reason: 'duplicate_call' };
        if (!(await slots.acquire())) return { ok: false, reason: 'at_capacity' };
        // The answer took a round trip: the process may have begun draining, or the same call connected twice.
        const refused = draining ? 'draining' : live.has(request.callId) ? 'duplicate_call' : undefined;
        if (refused !== undefined) {
          slots.release();
          return { ok: false, reason: refused };
        }
      }
      const providers = { ...options.providers, ...request.providers };
      const callId = request.callId;
      const session = createCallSession({
        callId,
        callerNumber: request.callerNumber,
        transport: request.transport,
        stt: providers.stt,
        llm: providers.llm,
        tts: providers.tts,
        vad: providers.vad,
        tools: options.tools,
        instructions: options.instructions,
        phrases: options.phrases,
        timing: options.timing,
        keyterms: options.keyterms,
        apologyAudio: options.apologyAudio?.get(formatKey(request.transport.format)),
        // Typed calls without TTS get no audio at all, greeting included.
        greetingAudio: providers.tts === undefined ? undefined : options.greetingAudio?.get(formatKey(request.transport.format)),
        onEvent: (event) => options.onSessionEvent?.(callId, event),
        onError: (error, where) => options.onError?.(callId, error, where),
      });
      // Registered before start() so a concurrent duplicate is refused while this one connects.
      live.set(callId, { session, transport: request.transportName });
      options.onCallStarted?.({ callId, transport: request.transportName, callerNumber: request.callerNumber });
      void session.finished.then(async (record) => {
        live.delete(callId);
        slots?.release();
        try {
          await options.onCallEnded?.(record, { transport: request.transportName });
        } catch (error) {
          options.onError?.(callId, error, 'call record');
        }
      });
      try {
        await session.start();
      } catch (error) {
        options.onError?.(callId, error, 'start');
        await session.end('start_failed');
        throw error;
      }
      return { ok: true, session };
    },

    activeCalls() {
      return live.size;
    },

    async drain(timeoutMs) {
      draining = true;
      const calls = [...live.values()];
      const all = Promise.all(calls.map((c) => c.session.finished));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        all.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      const remaining = [...live.values()];
      if (timedOut) await Promise.all(remaining.map((c) => c.session.end('shutdown')));
      return { finished: calls.length - remaining.length, cutOff: timedOut ? remaining.length : 0 };
    },
  };
}
