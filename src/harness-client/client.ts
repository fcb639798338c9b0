/**
 * The CLI harness: one call to a running server over the harness WebSocket, typed (lines in),
 * from a WAV file (streamed in real time) or from a microphone. It prints the conversation, the
 * tool calls with their results and each turn's latencies, echoes marks the way a speaker would,
 * and can record the agent's audio. Everything outside the socket (output, input lines, files,
 * audio devices) is passed in, so tests can run it in-process or through scripts/harness.ts.
 */
import WebSocket from 'ws';
import type { RawData } from 'ws';
import { encodeWav } from '../audio/wav.js';
import { createPlaybackClock, toFrames, wavToHarnessAudio } from './audio.js';
import type { PlaybackClock } from './audio.js';
import { formatEvent } from './format.js';
import { HARNESS_FRAME_BYTES, HARNESS_SAMPLE_RATE, harnessUrl, parseServerMessage } from './protocol.js';
import type { ClientMessage, HarnessMode, ServerMessage } from './protocol.js';
import { concatBytes } from '../audio/pcm.js';

export const EXIT_OK = 0;
export const EXIT_CONNECTION = 1;
export const EXIT_USAGE = 2;
export const EXIT_TIMEOUT = 3;

const FRAME_MS = 20;

/** A microphone and a speaker, as the CLI finds them (sox, arecord/aplay). */
export interface AudioDevices {
  /** Starts capturing 16 kHz mono PCM16; returns a stop function. */
  record(onAudio: (pcm: Uint8Array) => void, onError: (error: Error) => void): () => void;
  /** A speaker for the agent's audio, or undefined to play nothing (marks still keep time). */
  speaker?: { write(pcm: Uint8Array): void; flush(): void; close(): void };
}

export type HarnessInput =
  | { kind: 'text'; lines: AsyncIterable<string> }
  | { kind: 'wav'; file: Uint8Array; trailingSilenceMs?: number }
  | { kind: 'mic'; devices: AudioDevices };

export interface HarnessRunOptions {
  /** Server base (http(s)://, ws(s)://) or the full harness socket URL. */
  url: string;
  token?: string | undefined;
  callerNumber?: string | undefined;
  input: HarnessInput;
  /** The whole call, start to end. */
  timeoutMs: number;
  /** Where to write the agent's audio as a WAV file. */
  writeRecording?: (wav: Uint8Array) => Promise<void>;
  print: (line: string) => void;
  warn: (line: string) => void;
  /** Resolves when the user asks to hang up (Ctrl-C). */
  hangup?: Promise<void>;
}

interface Call {
  send(message: ClientMessage): void;
  sendAudio(pcm: Uint8Array): void;
  readonly started: Promise<ServerMessage & { type: 'started' }>;
  /** Resolves with the end reason once the call is over (or the socket closed). */
  readonly ended: Promise<string>;
  isEnded(): boolean;
  turnsDone(): number;
  /** Resolves on the next completed agent turn, or when the call ends. */
  nextTurn(after: number): Promise<void>;
  lastServerMessageAt(): number;
  recording(): Uint8Array[];
  close(): void;
}

/** Runs one call; resolves with the process exit code. */
export async function runHarness(options: HarnessRunOptions): Promise<number> {
  const realTime = options.input.kind !== 'text';
  const playback = createPlaybackClock({ realTime });
  const speaker = options.input.kind === 'mic' ? options.input.devices.speaker : undefined;
  const mode: HarnessMode = options.input.kind === 'text' ? 'text' : 'voice';
  let call: Call;
  try {
    call = await connect(options, mode, playback, speaker);
  } catch (error) {
    options.warn(`harness: cannot connect to ${safeUrl(options.url)}: ${(error as Error).message}`);
    return EXIT_CONNECTION;
  }

  let timedOut = false;
  const timeout = new Promise<'timeout'>((resolve) => {
    const timer = setTimeout(() => {
      timedOut = true;
      resolve('timeout');
    }, options.timeoutMs);
    void call.ended.finally(() => clearTimeout(timer));
  });

  let code = EXIT_OK;
  try {
    const started = await Promise.race([call.started, call.ended.then(() => undefined), timeout.then(() => undefined)]);
    if (started === undefined) {
      options.warn(timedOut ? 'harness: the server did not start the call in time' : 'harness: the connection closed before the call started');
      return timedOut ? EXIT_TIMEOUT : EXIT_CONNECTION;
    }
    options.print(`-- call ${started.callId} started (${started.mode} mode${started.audio ? ', agent audio' : ''})`);
    if (mode === 'voice' && started.mode !== 'voice') {
      options.warn('harness: the server has no speech-to-text configured, so it takes typed turns only: use --text');
      call.send({ type: 'stop' });
      await Promise.race([call.ended, delay(2_000)]);
      return EXIT_USAGE;
    }
    const conversation =
      options.input.kind === 'text'
        ? typedConversation(call, options.input.lines)
        : options.input.kind === 'wav'
          ? wavConversation(call, playback, options.input.file, options.input.trailingSilenceMs ?? 1_500)
          : micConversation(call, options.input.devices, options.hangup);
    const outcome = await Promise.race([conversation.then(() => 'done' as const), timeout, (options.hangup ?? never()).then(() => 'hangup' as const)]);
    if (outcome === 'timeout') {
      options.warn(`harness: timed out after ${Math.round(options.timeoutMs / 1000)} s`);
      code = EXIT_TIMEOUT;
    }
    if (outcome === 'done' && options.input.kind === 'text' && !call.isEnded()) {
      // Out of lines: the agent may be ending the call itself (a goodbye still playing), so give it a moment.
      await Promise.race([call.ended, quiet(call, 1_500)]);
    }
    if (!call.isEnded()) {
      call.send({ type: 'stop' });
      await Promise.race([call.ended, delay(3_000)]);
    }
    if (!call.isEnded()) options.warn('harness: the server did not confirm the end of the call');
  } finally {
    playback.dispose();
    speaker?.close();
    call.close();
  }
  if (options.writeRecording !== undefined) {
    const chunks = call.recording();
    const bytes = concatBytes(chunks);
    await options.writeRecording(encodeWav(bytes, { encoding: 'linear16', sampleRate: HARNESS_SAMPLE_RATE }));
    options.print(`-- wrote ${(bytes.length / (HARNESS_SAMPLE_RATE * 2)).toFixed(1)} s of agent audio`);
  }
  return code;
}

function connect(
  options: HarnessRunOptions,
  mode: HarnessMode,
  playback: PlaybackClock,
  speaker: AudioDevices['speaker'],
): Promise<Call> {
  const url = harnessUrl(options.url, options.token);
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const recorded: Uint8Array[] = [];
    let ended = false;
    let endReason: string | undefined;
    let turns = 0;
    let lastMessageAt = performance.now();
    const turnWaiters: Array<{ after: number; wake: () => void }> = [];
    let resolveStarted!: (m: ServerMessage & { type: 'started' }) => void;
    let resolveEnded!: (reason: string) => void;
    const started = new Promise<ServerMessage & { type: 'started' }>((r) => (resolveStarted = r));
    const endedPromise = new Promise<string>((r) => (resolveEnded = r));

    const finish = (reason: string): void => {
      if (ended) return;
      ended = true;
      endReason = reason;
      resolveEnded(reason);
      for (const waiter of turnWaiters.splice(0)) waiter.wake();
    };
    const send = (message: ClientMessage): void => {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
    };

    const onMessage = (message: ServerMessage): void => {
      switch (message.type) {
        case 'started':
          resolveStarted(message);
          return;
        case 'mark':
          playback.mark(message.name, (name) => send({ type: 'mark', name }));
          return;
        case 'clear':
          playback.clear();
          speaker?.flush();
          options.print('        (agent audio cleared: barge-in)');
          return;
        case 'event': {
          const line = formatEvent(message.event);
          if (line !== undefined && message.event.type !== 'call_ended') options.print(line);
          if (message.event.type === 'latency') {
            turns += 1;
            for (const waiter of turnWaiters.filter((w) => turns > w.after)) {
              turnWaiters.splice(turnWaiters.indexOf(waiter), 1);
              waiter.wake();
            }
          }
          if (message.event.type === 'call_ended') endReason ??= message.event.reason;
          return;
        }
        case 'ended':
          options.print(`-- call ended: ${message.reason}`);
          finish(message.reason);
          return;
        case 'error':
          options.warn(`server error: ${message.message}`);
          return;
      }
    };

    socket.on('open', () => {
      send({ type: 'start', mode, ...(options.callerNumber !== undefined ? { callerNumber: options.callerNumber } : {}) });
      resolve({
        send,
        sendAudio(pcm) {
          if (socket.readyState === WebSocket.OPEN) socket.send(pcm, { binary: true });
        },
        started,
        ended: endedPromise,
        isEnded: () => ended,
        turnsDone: () => turns,
        nextTurn(after) {
          if (ended || turns > after) return Promise.resolve();
          return new Promise((wake) => turnWaiters.push({ after, wake }));
        },
        lastServerMessageAt: () => lastMessageAt,
        recording: () => recorded,
        close() {
          if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) socket.close(1000);
        },
      });
    });
    socket.on('message', (data: RawData, isBinary: boolean) => {
      lastMessageAt = performance.now();
      const bytes = toBytes(data);
      if (isBinary) {
        // A copy: the socket's buffer is not ours to keep.
        recorded.push(bytes.slice());
        playback.played(bytes.length);
        speaker?.write(bytes);
        return;
      }
      const message = parseServerMessage(Buffer.from(bytes).toString('utf8'));
      if ('invalid' in message) {
        options.warn(`harness: ignoring a message the server should not send (${message.invalid})`);
        return;
      }
      onMessage(message);
    });
    socket.on('unexpected-response', (_request, response) => {
      reject(new Error(`the server answered HTTP ${response.statusCode}${response.statusCode === 401 || response.statusCode === 403 ? ' (check --token)' : ''}`));
      socket.terminate();
    });
    socket.on('error', (error) => {
      reject(error);
      finish(endReason ?? 'connection_error');
    });
    socket.on('close', (code, reason) => {
      if (!ended && code !== 1000 && code !== 1005) {
        options.warn(`harness: the connection closed (${code}${reason.length > 0 ? `: ${reason.toString()}` : ''})`);
      }
      reject(new Error(`connection closed (${code})`));
      finish(endReason ?? 'connection_closed');
    });
  });
}

/** Typed turns: each line waits for the agent's answer to the one before. */
async function typedConversation(call: Call, lines: AsyncIterable<string>): Promise<void> {
  for await (const raw of lines) {
    if (call.isEnded()) return;
    const text = raw.trim();
    if (text === '') continue;
    const before = call.turnsDone();
    call.send({ type: 'text', text });
    await call.nextTurn(before);
  }
}

/** The file in real-time 20 ms frames, then silence until the agent has answered and finished speaking. */
async function wavConversation(call: Call, playback: PlaybackClock, file: Uint8Array, trailingSilenceMs: number): Promise<void> {
  const frames = toFrames(wavToHarnessAudio(file), HARNESS_FRAME_BYTES);
  const silence = new Uint8Array(HARNESS_FRAME_BYTES);
  const turnsBefore = call.turnsDone();
  const start = performance.now();
  let sent = 0;
  const pace = async (): Promise<void> => {
    sent += 1;
    // Paced by the clock, not by summed sleeps, so timer lateness does not accumulate.
    const due = start + sent * FRAME_MS - performance.now();
    if (due > 0) await delay(due);
  };
  for (const frame of frames) {
    if (call.isEnded()) return;
    call.sendAudio(frame);
    await pace();
  }
  const silenceFrames = Math.ceil(trailingSilenceMs / FRAME_MS);
  for (let i = 0; ; i++) {
    if (call.isEnded()) return;
    // Like a caller who stays on the line: silence flows until the agent has answered and is quiet.
    const answered = call.turnsDone() > turnsBefore;
    const quietForMs = performance.now() - call.lastServerMessageAt();
    if (i >= silenceFrames && answered && playback.idle() && quietForMs > 1_000) return;
    call.sendAudio(silence);
    await pace();
  }
}

/** The microphone until the agent ends the call or the user hangs up. */
async function micConversation(call: Call, devices: AudioDevices, hangup: Promise<void> | undefined): Promise<void> {
  let pending = new Uint8Array(0);
  let failed: Error | undefined;
  const stop = devices.record(
    (pcm) => {
      const joined = concatBytes([pending, pcm]);
      const whole = joined.length - (joined.length % HARNESS_FRAME_BYTES);
      for (let offset = 0; offset < whole; offset += HARNESS_FRAME_BYTES) {
        call.sendAudio(joined.slice(offset, offset + HARNESS_FRAME_BYTES));
      }
      pending = joined.slice(whole);
    },
    (error) => {
      failed = error;
    },
  );
  try {
    await Promise.race([call.ended, hangup ?? never()]);
  } finally {
    stop();
  }
  if (failed !== undefined) throw failed;
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return concatBytes(data.map((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength)));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves once the server has sent nothing for `ms`. */
async function quiet(call: Call, ms: number): Promise<void> {
  while (performance.now() - call.lastServerMessageAt() < ms) await delay(100);
}

function never(): Promise<never> {
  return new Promise(() => undefined);
}

/** The URL without its token, for messages. */
function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.searchParams.has('token')) parsed.searchParams.set('token', '***');
    return parsed.toString();
  } catch {
    return url;
  }
}
