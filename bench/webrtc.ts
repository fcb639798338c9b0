/**
 * WebRTC bench: the WebRTC leg beside the Twilio leg on the same server (startApp in a child
 * process) and the same vendor emulators with injected latencies.
 *
 *   tsx bench/webrtc.ts [--calls 10] [--concurrent 4] [--window 10] [--server-prof DIR]
 *
 * Three legs: Twilio's media stream (mu-law 8 kHz), the harness socket (PCM 16 kHz, the same
 * pipeline formats as WebRTC without Opus, SRTP or pacing: the difference to it is WebRTC's own
 * cost), and WebRTC.
 *
 * 1. Voice-to-voice: `--calls` calls per transport, in turn. After the greeting, the caller says
 *    one line (speech, then silence, both in real time as a live microphone or phone line sends
 *    them) and waits for the agent's first audio. Overhead = voice-to-voice less the injected
 *    vendor time and the STT's endpointing silence (300 ms of audio, here in real time on both legs).
 *    WebRTC adds Opus both ways, SRTP and the 20 ms pacer; Twilio's leg is mu-law over a WebSocket.
 * 2. CPU per call: `--concurrent` calls of one transport at once, each caller's audio flowing in
 *    and the agent talking (a long reply) for `--window` seconds; the server process's CPU time
 *    over the window divided by calls and seconds, as % of one core per call.
 *
 * Prints one JSON object on stdout and writes bench/results/webrtc.json; progress goes to stderr.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { WebSocket } from 'ws';
import { BROWSER_AUDIO, PHONE_AUDIO } from '../src/core/frames.js';
import type { TwilioCaller } from '../test/emulators/twilio.js';
import type { EmulatedRequest, StaticResponse } from '../test/emulators/openai.js';
import { silence, speechLike, toFrames } from '../test/support/audio-fixtures.js';
import { dialWebRtc } from '../test/support/webrtc-caller.js';
import type { WebRtcCaller } from '../test/support/webrtc-caller.js';
import { baseEnv, placeCall } from './support/phone.js';
import { profileArgs, startServerChild } from './support/server.js';
import type { ServerChild } from './support/server.js';
import { argNumber, log, machine, round, sleep, summarize, waitUntil } from './support/stats.js';
import { startEmulators } from './support/voice-emulators.js';
import type { Emulators } from './support/voice-emulators.js';

const INJECTED = { sttFinalMs: 150, llmFirstTokenMs: 350, ttsFirstByteMs: 150 };
/** The Deepgram emulator's endpointing: this much silence (audio time) ends an utterance. */
const ENDPOINTING_MS = 300;
const SPEECH_MS = 400;
const LONG_REPLY = 'Our shop has been open since nineteen eighty, and we service every make and model. '.repeat(30);

const calls = argNumber('calls', 10);
const concurrent = argNumber('concurrent', 4);
const windowS = argNumber('window', 10);

function responder(request: EmulatedRequest): StaticResponse {
  const last = request.messages[request.messages.length - 1];
  const said = String(last?.['content'] ?? '').toLowerCase();
  const timing = { firstTokenDelayMs: INJECTED.llmFirstTokenMs };
  if (said.includes('everything')) return { ...timing, text: LONG_REPLY };
  return { ...timing, text: 'We are open nine to five on weekdays, and nine to three on Saturdays.' };
}

// ---- the two callers, behind one small interface ---------------------------------------------

interface BenchCaller {
  /** Speaks `speechMs` of speech then silence, in real time; resolves at speech end (performance.now()). */
  speak(text: string, speechMs?: number): Promise<number>;
  /** Arrival time (performance.now()) of the first agent audio after `since`. */
  firstAudioAfter(since: number): number | undefined;
  /** The agent has been silent for a moment after speaking. */
  idle(): boolean;
  hangUp(): Promise<void>;
}

async function twilioCaller(server: ServerChild, script: (text: string) => void): Promise<BenchCaller> {
  const { caller } = await placeCall(server.url, { speed: 1 });
  const media = () => caller.events.filter((e) => e.type === 'media');
  // A phone line carries audio all the time: silence between utterances, in real time.
  const silent = toFrames(silence(20, PHONE_AUDIO), PHONE_AUDIO)[0]!;
  const pump = framePump((frame) => send(caller, frame), silent);
  return {
    speak(text, speechMs = SPEECH_MS) {
      script(text);
      return pump.speak(toFrames(speechLike(speechMs, PHONE_AUDIO), PHONE_AUDIO));
    },
    firstAudioAfter: (since) => media().find((e) => e.at > since)?.at,
    idle() {
      const last = media().at(-1);
      return last !== undefined && caller.echoedMarks.length === caller.marks.length && performance.now() - last.at > 300;
    },
    async hangUp() {
      pump.stop();
      caller.hangUp();
      await caller.closed;
    },
  };
}

/**
 * A caller's microphone in real time: one 20 ms frame every 20 ms, silence between utterances.
 * `speak` queues an utterance and resolves when its last frame has been sent (the speech end).
 */
function framePump(sendFrame: (frame: Uint8Array) => void, silent: Uint8Array): { speak(frames: Uint8Array[]): Promise<number>; stop(): void } {
  let queue: Uint8Array[] = [];
  let next = performance.now();
  let onSpeechEnd: ((at: number) => void) | undefined;
  const timer = setInterval(() => {
    const now = performance.now();
    while (next <= now) {
      next += 20;
      const frame = queue.shift();
      sendFrame(frame ?? silent);
      if (frame !== undefined && queue.length === 0) onSpeechEnd?.(performance.now());
    }
  }, 5);
  return {
    speak(frames) {
      queue = frames;
      return new Promise((resolve) => (onSpeechEnd = resolve));
    },
    stop: () => clearInterval(timer),
  };
}

function send(caller: TwilioCaller, frame: Uint8Array): void {
  try {
    caller.sendAudio(frame);
  } catch {
    // The call ended under the pump; the next hang-up stops it.
  }
}

/**
 * The harness socket's voice call: the same 16 kHz PCM pipeline as WebRTC (STT, VAD, TTS formats)
 * without Opus, SRTP and pacing, so the difference between it and WebRTC is WebRTC's own cost.
 * Marks are echoed at once: this caller does not play audio (v2v and CPU do not depend on it).
 */
async function browserSocketCaller(server: ServerChild, script: (text: string) => void): Promise<BenchCaller> {
  const socket = new WebSocket(`${server.url.replace('http', 'ws')}/harness/ws`, { perMessageDeflate: false });
  const received: number[] = [];
  socket.on('message', (data, isBinary) => {
    if (isBinary) {
      received.push(performance.now());
      return;
    }
    const message = JSON.parse(String(data)) as { type: string; name?: string };
    if (message.type === 'mark') socket.send(JSON.stringify({ type: 'mark', name: message.name }));
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  socket.send(JSON.stringify({ type: 'start', mode: 'voice' }));
  const silent = new Uint8Array(640);
  const pump = framePump((frame) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(frame);
  }, silent);
  return {
    speak(text, speechMs = SPEECH_MS) {
      script(text);
      return pump.speak(toFrames(speechLike(speechMs, BROWSER_AUDIO), BROWSER_AUDIO));
    },
    firstAudioAfter: (since) => received.find((at) => at > since),
    idle() {
      const last = received.at(-1);
      return last !== undefined && performance.now() - last > 300;
    },
    async hangUp() {
      pump.stop();
      socket.close();
      await new Promise((resolve) => socket.once('close', resolve));
    },
  };
}

async function webrtcCaller(server: ServerChild, script: (text: string) => void): Promise<BenchCaller> {
  const caller: WebRtcCaller = await dialWebRtc(server.url);
  return {
    async speak(text, speechMs = SPEECH_MS) {
      script(text);
      await caller.say(speechLike(speechMs, BROWSER_AUDIO));
      return performance.now();
    },
    firstAudioAfter: (since) => caller.received.find((f) => f.atMs > since)?.atMs,
    idle() {
      const last = caller.received.at(-1);
      return last !== undefined && performance.now() - last.atMs > 300;
    },
    hangUp: () => caller.hangUp(),
  };
}

type Transport = 'twilio' | 'browser' | 'webrtc';
const TRANSPORTS: readonly Transport[] = ['twilio', 'browser', 'webrtc'];
const dial = (transport: Transport, server: ServerChild, script: (text: string) => void) =>
  transport === 'twilio' ? twilioCaller(server, script) : transport === 'browser' ? browserSocketCaller(server, script) : webrtcCaller(server, script);

interface TurnTimes {
  v2vMs: number;
  /** When the STT emulator sent its final, after the caller's speech end: the inbound leg. */
  sttFinalMs: number | undefined;
}

async function voiceToVoice(transport: Transport, server: ServerChild, emu: Emulators, script: (text: string) => void): Promise<TurnTimes> {
  const dgIndex = emu.deepgram.connections.length; // the connection this call is about to open
  const caller = await dial(transport, server, script);
  try {
    await waitUntil(() => caller.idle(), 15_000, 'the greeting to end', 10);
    const speechEnd = await caller.speak('What are your hours');
    await waitUntil(() => caller.firstAudioAfter(speechEnd) !== undefined, 10_000, 'the reply', 1);
    const speechEndEpoch = performance.timeOrigin + speechEnd;
    const finalAt = emu.deepgramTimes[dgIndex]?.speechFinals.find((t) => t >= speechEndEpoch);
    return { v2vMs: caller.firstAudioAfter(speechEnd)! - speechEnd, sttFinalMs: finalAt === undefined ? undefined : finalAt - speechEndEpoch };
  } finally {
    await caller.hangUp();
  }
}

async function cpuPerCall(transport: Transport, server: ServerChild, script: (text: string) => void): Promise<{ percentOfCorePerCall: number; calls: number }> {
  const callers = await Promise.all(Array.from({ length: concurrent }, () => dial(transport, server, script)));
  try {
    await waitUntil(() => callers.every((c) => c.idle()), 20_000, 'greetings to end', 10);
    await Promise.all(callers.map((c) => c.speak('Tell me everything')));
    await sleep(1_500); // the replies are playing
    const before = await server.stats();
    const startedAt = performance.now();
    await sleep(windowS * 1000);
    const after = await server.stats();
    const elapsedMs = performance.now() - startedAt;
    const cpuMs = (after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system) / 1000;
    if (after.activeCalls < concurrent) throw new Error(`only ${after.activeCalls} of ${concurrent} calls were live at the end of the window`);
    return { percentOfCorePerCall: round((cpuMs / elapsedMs / concurrent) * 100, 2)!, calls: concurrent };
  } finally {
    await Promise.all(callers.map((c) => c.hangUp()));
  }
}

async function main(): Promise<void> {
  const emu = await startEmulators({ sttFinalDelayMs: INJECTED.sttFinalMs, ttsFirstByteDelayMs: INJECTED.ttsFirstByteMs });
  emu.openai.setDefault(responder);
  const script = (text: string) => emu.deepgram.script([text]);
  let server: ServerChild | undefined;
  const v2v: Record<Transport, number[]> = { twilio: [], browser: [], webrtc: [] };
  const sttFinal: Record<Transport, number[]> = { twilio: [], browser: [], webrtc: [] };
  const cpu: Partial<Record<Transport, { percentOfCorePerCall: number; calls: number }>> = {};
  const failures: string[] = [];
  try {
    server = await startServerChild({ ...baseEnv(), ...emu.env(), MAX_CONCURRENT_CALLS: String(concurrent + 2) }, profileArgs());
    log(`server at ${server.url}; warm-up calls`);
    for (const transport of TRANSPORTS) await voiceToVoice(transport, server, emu, script);
    for (let i = 1; i <= calls; i++) {
      for (const transport of TRANSPORTS) {
        try {
          const times = await voiceToVoice(transport, server, emu, script);
          v2v[transport].push(times.v2vMs);
          if (times.sttFinalMs !== undefined) sttFinal[transport].push(times.sttFinalMs);
          log(`${transport} call ${i}/${calls}: voice-to-voice ${times.v2vMs.toFixed(1)} ms, STT final at ${times.sttFinalMs?.toFixed(1) ?? '?'} ms`);
        } catch (error) {
          failures.push(`${transport}: ${error instanceof Error ? error.message : String(error)}`);
          log(`${transport} call ${i} failed: ${String(error)}`);
        }
      }
    }
    for (const transport of TRANSPORTS) {
      try {
        cpu[transport] = await cpuPerCall(transport, server, script);
        log(`${transport}: ${cpu[transport]!.percentOfCorePerCall}% of a core per call (${concurrent} calls, ${windowS} s)`);
      } catch (error) {
        failures.push(`${transport} cpu: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  } finally {
    await server?.stop();
    await emu.close();
  }

  const vendorMs = INJECTED.sttFinalMs + INJECTED.llmFirstTokenMs + INJECTED.ttsFirstByteMs + ENDPOINTING_MS;
  const overhead = (t: Transport) => v2v[t].map((ms) => ms - vendorMs);
  const twilio = summarize(v2v.twilio);
  const browser = summarize(v2v.browser);
  const webrtc = summarize(v2v.webrtc);
  const out = {
    bench: 'webrtc',
    callsPerTransport: calls,
    failures,
    injected: { ...INJECTED, endpointingMs: ENDPOINTING_MS },
    method: {
      server: 'startApp in a child process; emulators and callers (Twilio media-stream emulator, werift peer) in the bench process',
      speechEnd: 'send time of the caller\'s last 20 ms speech frame; silence follows in real time on both legs',
      firstAgentAudio: 'arrival of the first agent audio of the reply at the caller (Twilio media message, RTP packet)',
      overhead: `voice-to-voice less ${vendorMs} ms (injected STT final, LLM first token, TTS first byte, and 300 ms endpointing silence)`,
      cpu: `${concurrent} concurrent calls per transport, caller audio flowing and the agent talking, server CPU over ${windowS} s`,
    },
    voiceToVoiceMs: { twilio, browserSocket: browser, webrtc },
    overheadMs: { twilio: summarize(overhead('twilio')), browserSocket: summarize(overhead('browser')), webrtc: summarize(overhead('webrtc')) },
    sttFinalAfterSpeechEndMs: { twilio: summarize(sttFinal.twilio), browserSocket: summarize(sttFinal.browser), webrtc: summarize(sttFinal.webrtc) },
    webrtcMinusTwilioMedianMs: twilio.median === null || webrtc.median === null ? null : round(webrtc.median - twilio.median),
    webrtcMinusBrowserSocketMedianMs: browser.median === null || webrtc.median === null ? null : round(webrtc.median - browser.median),
    cpuPercentOfCorePerCall: {
      twilio: cpu.twilio?.percentOfCorePerCall ?? null,
      browserSocket: cpu.browser?.percentOfCorePerCall ?? null,
      webrtc: cpu.webrtc?.percentOfCorePerCall ?? null,
    },
    machine: machine(),
    at: new Date().toISOString(),
  };
  const json = JSON.stringify(out, null, 2);
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/webrtc.json', import.meta.url), `${json}\n`);
  process.stdout.write(`${json}\n`);
}

await main();
// werift caller peers leave UDP sockets and timers behind after close(), which kept this process
// alive for good once the results were written (seen on the first quiet re-run).
process.exit(0);
