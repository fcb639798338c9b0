/**
 * One call's ElevenLabs multi-stream-input socket: every TtsStream opened from the session is a
 * synthesis context on it (`context_id`), so a reply's sentences are spoken as one piece of speech
 * and only the call's first reply waits for a handshake.
 *
 * - A context is created by its first message (`{ text: " ", context_id, voice_settings? }`); one is
 *   kept created ahead (the standby), so open() sends nothing the vendor has to wait for.
 * - Each speakable chunk goes with `flush: true` (the chunker hands whole sentences; without a flush
 *   the vendor would hold the first one until 120 characters had come in).
 * - end() sends `close_context`: text already flushed is still generated, then `isFinal` arrives for
 *   that context. close() (barge-in) sends `close_context` too, but the stream stops at once and any
 *   audio still arriving for the context is dropped. A context is closed once: after `close_context`
 *   the vendor answers anything sent to it with `context_not_found`.
 * - Open contexts (the standby included, ended ones not) get `{ text: "", context_id }` before the
 *   vendor's inactivity timeout, so a long tool call neither idles a reply out nor closes the socket.
 * - A context waiting for audio fails only when the whole socket has been quiet for `audioTimeoutMs`:
 *   the vendor generates one context after another, and still speaks the flushed text of a context
 *   closed by a barge-in, so a new reply may wait behind audio nobody plays.
 * - Audio messages carry `alignment` (sync_alignment=true): character start times and durations,
 *   relative to each chunk, which spokenWithin() turns into the words a given amount of audio covers.
 * - A dropped socket fails the contexts it carried (retryable); the next open() reconnects.
 */
import WebSocket from 'ws';
import type { AudioFormat } from '../../core/frames.js';
import { createAsyncQueue } from '../../core/async-queue.js';
import { ProviderError } from '../../core/errors.js';
import { bytesPerMs, createSampleAligner } from '../../audio/pcm.js';
import type { TtsSession, TtsStream } from '../tts.js';

export interface ContextSessionDeps {
  format: AudioFormat;
  /** Opens a multi-stream-input socket (with retries); nothing sent on it yet. */
  connect(signal: AbortSignal): Promise<WebSocket>;
  /** Fields every context's first message carries (voice settings, generation config). */
  contextInit: Record<string, unknown>;
  /** Text sent (or the context ended) and no audio for this long: the context fails. */
  audioTimeoutMs: number;
  /** How often open contexts are kept alive (below the vendor's inactivity timeout). */
  keepAliveMs: number;
  error(message: string, retryable: boolean): ProviderError;
  closeError(code: number, reason: string): ProviderError;
}

interface Context {
  onAudio(bytes: Uint8Array, alignment: unknown): void;
  onFinal(): void;
  fail(error: ProviderError): void;
}

/** Character timing of everything a context has spoken, on the context's own audio clock. */
interface TimedChar {
  char: string;
  endMs: number;
}

export async function openContextSession(deps: ContextSessionDeps, signal: AbortSignal): Promise<TtsSession> {
  const perMs = bytesPerMs(deps.format);
  const alignSamples = deps.format.encoding === 'linear16';
  const contexts = new Map<string, Context>();
  let ws: WebSocket | undefined;
  let connecting: Promise<WebSocket> | undefined;
  let standby: string | undefined;
  /** Contexts created on the current socket and not yet sent `close_context` (the standby included). */
  const openAtVendor = new Set<string>();
  let nextContext = 1;
  let closed = false;
  /** When the socket last carried audio (any context's, a closed one's included), performance.now() ms. */
  let lastAudioAtMs = 0;
  const sessionController = new AbortController();
  const onOuterAbort = (): void => session.close();
  signal.addEventListener('abort', onOuterAbort, { once: true });

  const keepAlive = setInterval(() => {
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    for (const id of openAtVendor) ws.send(JSON.stringify({ text: '', context_id: id }));
  }, deps.keepAliveMs);
  keepAlive.unref();

  function send(payload: Record<string, unknown>): void {
    if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify(payload));
  }

  function createContext(): string {
    const id = `c${nextContext++}`;
    send({ ...deps.contextInit, text: ' ', context_id: id });
    openAtVendor.add(id);
    return id;
  }

  function attach(socket: WebSocket): void {
    ws = socket;
    socket.on('message', (data, isBinary) => {
      if (isBinary) return;
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(data.toString()) as Record<string, unknown>;
      } catch {
        dropSocket(socket, deps.error('malformed message from the server', true));
        return;
      }
      const id = typeof message.contextId === 'string' ? message.contextId : undefined;
      const context = id === undefined ? undefined : contexts.get(id);
      if (typeof message.audio === 'string' && message.audio.length > 0) {
        lastAudioAtMs = performance.now();
        // A context closed by a barge-in may still have audio on the way: nobody must play it.
        context?.onAudio(new Uint8Array(Buffer.from(message.audio, 'base64')), message.alignment);
      }
      if (message.isFinal === true) {
        context?.onFinal();
        return;
      }
      if (message.audio === undefined && (typeof message.error === 'string' || typeof message.message === 'string')) {
        const text = String(message.message ?? message.error);
        const error = deps.error(`server error: ${text}`, true);
        if (context) context.fail(error);
        else if (id === undefined) for (const each of [...contexts.values()]) each.fail(error);
      }
    });
    socket.on('error', () => undefined); // the close that follows carries the outcome
    socket.on('close', (code, reason) => dropSocket(socket, deps.closeError(code, reason.toString())));
    standby = createContext();
  }

  /** The socket is gone: its contexts fail, the next open() reconnects. */
  function dropSocket(socket: WebSocket, error: ProviderError): void {
    if (ws !== socket) return;
    ws = undefined;
    standby = undefined;
    openAtVendor.clear();
    socket.removeAllListeners();
    socket.on('error', () => undefined);
    if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) socket.terminate();
    for (const context of [...contexts.values()]) context.fail(error);
  }

  async function ensureSocket(): Promise<void> {
    if (ws?.readyState === WebSocket.OPEN) return;
    // Closing but its 'close' not seen yet: its contexts fail now, not at their watchdog.
    if (ws !== undefined) dropSocket(ws, deps.error('connection closing', true));
    connecting ??= deps.connect(sessionController.signal).finally(() => {
      connecting = undefined;
    });
    const socket = await connecting;
    if (closed) {
      socket.close(1000);
      throw new Error('TTS session is closed');
    }
    if (ws !== socket) attach(socket);
  }

  function createStream(id: string, streamSignal: AbortSignal): TtsStream {
    const audio = createAsyncQueue<Uint8Array>({ name: 'TtsStream.audio', onReturn: () => close() });
    const timed: TimedChar[] = [];
    let receivedBytes = 0;
    /** end() was called (the caller's side; `openAtVendor` is the vendor's). */
    let ended = false;
    let complete = false;
    const aligner = alignSamples ? createSampleAligner() : undefined;
    let watchdog: NodeJS.Timeout | undefined;
    const settled = (): boolean => audio.state !== 'open';

    const cleanup = (): void => {
      clearTimeout(watchdog);
      watchdog = undefined;
      contexts.delete(id);
      openAtVendor.delete(id); // settled: no more keep-alives for it
      streamSignal.removeEventListener('abort', onAbort);
    };
    const armWatchdog = (): void => {
      clearTimeout(watchdog);
      const armedAtMs = performance.now();
      const check = (): void => {
        const left = Math.max(armedAtMs, lastAudioAtMs) + deps.audioTimeoutMs - performance.now();
        if (left > 0) {
          watchdog = setTimeout(check, left);
          return;
        }
        closeAtVendor();
        context.fail(deps.error(`no audio within ${deps.audioTimeoutMs} ms`, true));
      };
      watchdog = setTimeout(check, deps.audioTimeoutMs);
    };
    const closeAtVendor = (): void => {
      // A context is closed once: the vendor answers anything after `close_context` with `context_not_found`.
      if (!openAtVendor.delete(id)) return;
      send({ context_id: id, close_context: true });
    };

    const context: Context = {
      onAudio(bytes, alignment) {
        if (settled()) return;
        const chunkStartMs = receivedBytes / perMs;
        receivedBytes += bytes.length;
        recordAlignment(timed, alignment, chunkStartMs);
        // 16-bit PCM must reach consumers whole-sample aligned, whatever the vendor's chunking.
        const chunk = aligner === undefined ? bytes : aligner.align(bytes);
        if (chunk.length > 0) audio.push(chunk);
        // Before end() a quiet spell is the LLM thinking, not a stall; after end() audio must keep coming.
        if (ended) armWatchdog();
        else {
          clearTimeout(watchdog);
          watchdog = undefined;
        }
      },
      onFinal() {
        if (settled()) return;
        complete = true;
        aligner?.reset();
        audio.end();
        cleanup();
      },
      fail(error) {
        if (settled()) return;
        audio.fail(error);
        cleanup();
      },
    };
    contexts.set(id, context);

    const close = (): void => {
      if (settled()) return;
      audio.close();
      aligner?.reset();
      closeAtVendor();
      cleanup();
    };
    const onAbort = (): void => close();
    streamSignal.addEventListener('abort', onAbort, { once: true });

    return {
      sendText(text) {
        if (ended) throw new Error('TtsStream.sendText() after end()');
        if (settled() || text.trim().length === 0) return; // "" is a keep-alive, not text
        // ElevenLabs wants each chunk to end with a space, or words run together across chunks.
        const chunk = /\s$/.test(text) ? text : `${text} `;
        send({ text: chunk, context_id: id, flush: true });
        if (!watchdog) armWatchdog();
      },
      end() {
        if (ended) return;
        ended = true;
        if (settled()) return;
        closeAtVendor();
        armWatchdog();
      },
      audio,
      close,
      spokenWithin: (audioMs) => wordsWithin(timed, audioMs, complete),
    };
  }

  const session: TtsSession = {
    async open(streamSignal) {
      if (closed) throw new Error('TTS session is closed');
      if (streamSignal.aborted) throw streamSignal.reason;
      await ensureSocket();
      const id = standby ?? createContext();
      standby = createContext();
      return createStream(id, streamSignal);
    },
    close() {
      if (closed) return;
      closed = true;
      clearInterval(keepAlive);
      signal.removeEventListener('abort', onOuterAbort);
      sessionController.abort(new Error('TTS session closed'));
      for (const context of [...contexts.values()]) context.fail(deps.error('the TTS session was closed', false));
      const socket = ws;
      ws = undefined;
      if (socket) {
        socket.removeAllListeners();
        socket.on('error', () => undefined);
        if (socket.readyState === WebSocket.OPEN) {
          socket.send(JSON.stringify({ close_socket: true }));
          socket.close(1000);
        } else socket.terminate();
      }
    },
  };

  try {
    await ensureSocket();
  } catch (error) {
    session.close();
    throw error;
  }
  return session;
}

/** Adds one audio message's alignment (times relative to that chunk) to the context's timeline. */
function recordAlignment(timed: TimedChar[], alignment: unknown, chunkStartMs: number): void {
  if (typeof alignment !== 'object' || alignment === null) return;
  const { chars, charStartTimesMs, charDurationsMs } = alignment as Record<string, unknown>;
  if (!Array.isArray(chars) || !Array.isArray(charStartTimesMs) || !Array.isArray(charDurationsMs)) return;
  for (let i = 0; i < chars.length; i++) {
    const start = Number(charStartTimesMs[i]);
    const duration = Number(charDurationsMs[i]);
    if (typeof chars[i] !== 'string' || !Number.isFinite(start) || !Number.isFinite(duration)) continue;
    timed.push({ char: chars[i] as string, endMs: chunkStartMs + start + duration });
  }
}

/**
 * The text whose characters all end within `audioMs`, cut after the last whole word. A word at the
 * very end of what arrived is whole only if the context is complete: more of it may have been lost.
 */
function wordsWithin(timed: readonly TimedChar[], audioMs: number, complete: boolean): string {
  let covered = 0;
  while (covered < timed.length && (timed[covered]?.endMs ?? Infinity) <= audioMs) covered++;
  let text = timed
    .slice(0, covered)
    .map((t) => t.char)
    .join('');
  const next = timed[covered]?.char;
  const wordGoesOn = next === undefined ? !complete : !/\s/.test(next);
  // Part of a word was heard: that word was not.
  if (wordGoesOn && !/\s$/.test(text)) {
    const space = text.search(/\s\S*$/);
    text = space < 0 ? '' : text.slice(0, space);
  }
  return text.replace(/\s+/g, ' ').trim();
}
