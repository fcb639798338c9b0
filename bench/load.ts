/**
 * Load bench: N concurrent phone calls with real-time 20 ms frames both ways, stepping N up.
 *
 *   tsx bench/load.ts [--steps 10,25,50,100,200,300] [--duration 15]
 *
 * Three processes: the server (startApp, the thing measured) in one child, the vendor emulators
 * in another, the callers (Twilio media-stream emulators) here. So the server's event-loop delay,
 * CPU and heap are its own, and emulator/caller jitter is reported separately instead of being
 * mixed in. (On 2 cores the three still share the CPUs: the emulators' and callers' load is what
 * limits the top steps; see `otherProcesses` per step.)
 *
 * Each call: greeting, then 400 ms of caller speech; the agent answers with a long reply that the
 * emulated TTS produces in 20 ms chunks at real-time pace, while the caller keeps sending 20 ms
 * frames (silence) on its own timer. Measured over a steady window per step.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { PHONE_AUDIO } from '../src/core/frames.js';
import type { TwilioCaller } from '../test/emulators/twilio.js';
import { silence, speechLike, toFrames } from '../test/support/audio-fixtures.js';
import { startEmulatorProcess } from './support/emulators-process.js';
import type { EmulatorProcess } from './support/emulators-process.js';
import { baseEnv, placeCall } from './support/phone.js';
import { profileArgs, startServerChild } from './support/server.js';
import type { ServerChild } from './support/server.js';
import { argNumber, argValue, log, machine, round, sleep, summarize, waitUntil } from './support/stats.js';

const steps = (argValue('steps') ?? '10,25,50,100,200,300').split(',').map(Number).filter((n) => n > 0);
const durationMs = argNumber('duration', 15) * 1000;
const TARGET = { eventLoopP99Ms: 20, maxOutboundGapMs: 40 };
const INJECTED = { sttFinalMs: 150, llmFirstTokenMs: 350, ttsFirstByteMs: 150, ttsChunkMs: 20, ttsInterChunkDelayMs: 20, msPerChar: 60 };
const REPLY = 'Our shop has been open since nineteen eighty, and we service every make and model you can name. '.repeat(20);

const SPEECH = toFrames(speechLike(400, PHONE_AUDIO), PHONE_AUDIO);
const SILENCE_FRAME = silence(20, PHONE_AUDIO);

interface LiveCall {
  caller: TwilioCaller;
  ticker: NodeJS.Timeout;
  /** performance.now() of the first agent media after the caller spoke. */
  replyFromAt: number | undefined;
}

/** A caller that sends a 20 ms frame every 20 ms (Twilio's pace), speech once after `speakAfterMs`. */
function startTicker(call: { caller: TwilioCaller; spokeAt?: number }, speakAfterMs: number): NodeJS.Timeout {
  const started = performance.now();
  let speechIndex = -1;
  return setInterval(() => {
    if (speechIndex < 0 && performance.now() - started >= speakAfterMs) speechIndex = 0;
    if (speechIndex >= 0 && speechIndex < SPEECH.length) {
      call.caller.sendAudio(SPEECH[speechIndex++]!);
      if (speechIndex === SPEECH.length) call.spokeAt = performance.now();
    } else {
      call.caller.sendAudio(SILENCE_FRAME);
    }
  }, 20);
}

interface StepResult {
  calls: number;
  callsConnected: number;
  callsWithReplyAudio: number;
  windowMs: number;
  server: {
    eventLoopDelayMs: { p50: number; p99: number; max: number };
    cpuPercentOfOneCore: number | null;
    cpuMsPerCallPerSecond: number | null;
    heapUsedMB: number;
    heapPerCallKB: number | null;
    rssMB: number;
  };
  outboundGapsMs: {
    all: ReturnType<typeof summarize>;
    withinUtterance: ReturnType<typeof summarize>;
    over40msWithinUtterance: number;
    over40msAll: number;
    playbackUnderrunsPerCall: number | null;
  };
  otherProcesses: {
    emulatorsEventLoopP99Ms: number;
    emulatorsCpuPercent: number | null;
    callersEventLoopP99Ms: number;
    callersCpuPercent: number | null;
  };
  pass: boolean;
}

async function runStep(n: number, server: ServerChild, emulators: EmulatorProcess, baselineHeap: number): Promise<StepResult> {
  const live: Array<LiveCall & { spokeAt?: number }> = [];
  const rampMs = Math.min(4_000, n * 15);
  const stepStart = performance.now();
  const placing: Array<Promise<void>> = [];
  let failedToConnect = 0;
  for (let i = 0; i < n; i++) {
    const startAt = stepStart + (rampMs * i) / n;
    placing.push(
      (async () => {
        await sleep(Math.max(0, startAt - performance.now()));
        try {
          const { caller } = await placeCall(server.url, { speed: 1, from: `+1555${String(1_000_000 + i).slice(1)}` });
          const call: LiveCall & { spokeAt?: number } = { caller, ticker: undefined as unknown as NodeJS.Timeout, replyFromAt: undefined };
          call.ticker = startTicker(call, 1_200);
          live.push(call);
        } catch (error) {
          failedToConnect++;
          if (failedToConnect <= 3) log(`call ${i} failed to connect: ${String(error)}`);
        }
      })(),
    );
  }
  await Promise.all(placing);
  // Steady state: every call has spoken and its reply is streaming.
  const windowStart = stepStart + rampMs + 3_500;
  await sleep(Math.max(0, windowStart - performance.now()));
  const callerLoop = monitorEventLoopDelay({ resolution: 1 });
  callerLoop.enable();
  const before = await server.stats({ reset: true });
  const emuBefore = await emulators.stats(true);
  const callerCpuBefore = process.cpuUsage();
  const windowFrom = performance.now();
  await sleep(Math.max(1_000, stepStart + durationMs - performance.now()));
  const windowTo = performance.now();
  const after = await server.stats();
  const emuAfter = await emulators.stats();
  const callerCpu = process.cpuUsage(callerCpuBefore);
  callerLoop.disable();
  const withGc = await server.stats({ gc: true });
  const windowMs = windowTo - windowFrom;

  // Outbound gaps: consecutive media messages at the caller while the agent speaks its reply.
  const all: number[] = [];
  const within: number[] = [];
  let underruns = 0;
  let withReply = 0;
  for (const call of live) {
    if (call.spokeAt === undefined) continue;
    const events = call.caller.events;
    let prev: { at: number; utterance: string } | undefined;
    let playhead = 0;
    let sawReply = false;
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      if (e.type !== 'media' || e.at < call.spokeAt) continue;
      sawReply = true;
      const next = events[i + 1];
      const utterance = next?.type === 'mark' ? (next.name.split('.')[0] ?? '?') : '?';
      if (e.at >= windowFrom && e.at <= windowTo) {
        if (prev !== undefined && prev.at >= windowFrom) {
          const gap = e.at - prev.at;
          all.push(gap);
          if (prev.utterance === utterance) within.push(gap);
        }
        if (playhead > 0 && e.at > playhead + 1) underruns++;
      }
      playhead = Math.max(playhead, e.at) + e.bytes / 8;
      prev = { at: e.at, utterance };
    }
    if (sawReply) withReply++;
  }
  const cpuMs = (after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system) / 1000;
  const emuCpuMs = (emuAfter.cpu.user + emuAfter.cpu.system - emuBefore.cpu.user - emuBefore.cpu.system) / 1000;
  const connected = live.length;
  const allSummary = summarize(all, 1);
  const withinSummary = summarize(within, 1);
  const result: StepResult = {
    calls: n,
    callsConnected: connected,
    callsWithReplyAudio: withReply,
    windowMs: Math.round(windowMs),
    server: {
      eventLoopDelayMs: { p50: after.eventLoop.p50Ms, p99: after.eventLoop.p99Ms, max: after.eventLoop.maxMs },
      cpuPercentOfOneCore: round((cpuMs / windowMs) * 100, 1),
      cpuMsPerCallPerSecond: connected === 0 ? null : round(cpuMs / (windowMs / 1000) / connected, 2),
      heapUsedMB: round(withGc.memory.heapUsed / 2 ** 20, 1) ?? 0,
      heapPerCallKB: connected === 0 ? null : round((withGc.memory.heapUsed - baselineHeap) / 1024 / connected, 1),
      rssMB: round(withGc.memory.rss / 2 ** 20, 1) ?? 0,
    },
    outboundGapsMs: {
      all: allSummary,
      withinUtterance: withinSummary,
      over40msWithinUtterance: within.filter((g) => g > 40).length,
      over40msAll: all.filter((g) => g > 40).length,
      playbackUnderrunsPerCall: connected === 0 ? null : round(underruns / connected, 2),
    },
    otherProcesses: {
      emulatorsEventLoopP99Ms: emuAfter.eventLoop.p99Ms,
      emulatorsCpuPercent: round((emuCpuMs / windowMs) * 100, 1),
      callersEventLoopP99Ms: Math.round((callerLoop.percentile(99) || 0) / 1e3) / 1e3,
      callersCpuPercent: round(((callerCpu.user + callerCpu.system) / 1000 / windowMs) * 100, 1),
    },
    pass: false,
  };
  result.pass =
    connected === n &&
    withReply === n &&
    after.eventLoop.p99Ms < TARGET.eventLoopP99Ms &&
    (withinSummary.max ?? Infinity) <= TARGET.maxOutboundGapMs;

  // Hang up and let the server finish every call before the next step.
  for (const call of live) {
    clearInterval(call.ticker);
    call.caller.hangUp();
  }
  await Promise.race([Promise.all(live.map((c) => c.caller.closed)), sleep(10_000)]);
  await waitUntil(async () => (await server.stats()).activeCalls === 0, 30_000, 'server to end every call', 200).catch((e: unknown) =>
    log(String(e)),
  );
  return result;
}

async function main(): Promise<void> {
  const started = Date.now();
  const emulators = await startEmulatorProcess({
    sttFinalDelayMs: INJECTED.sttFinalMs,
    llmFirstTokenMs: INJECTED.llmFirstTokenMs,
    ttsFirstByteDelayMs: INJECTED.ttsFirstByteMs,
    ttsChunkMs: INJECTED.ttsChunkMs,
    ttsInterChunkDelayMs: INJECTED.ttsInterChunkDelayMs,
    msPerChar: INJECTED.msPerChar,
    replyText: REPLY,
  });
  let server: ServerChild | undefined;
  const results: StepResult[] = [];
  let stoppedEarly: string | undefined;
  try {
    server = await startServerChild({
      ...baseEnv(),
      ...emulators.env,
      MAX_CONCURRENT_CALLS: '2000',
      GREETING: 'Main Street Auto, how can I help?',
    }, profileArgs());
    log(`server ${server.url} (pid ${server.pid}), emulators pid ${emulators.pid}`);
    for (const n of steps) {
      const baseline = await server.stats({ gc: true });
      log(`step ${n} calls...`);
      const result = await runStep(n, server, emulators, baseline.memory.heapUsed);
      results.push(result);
      log(
        `step ${n}: loop p99 ${result.server.eventLoopDelayMs.p99} ms, gap max ${result.outboundGapsMs.withinUtterance.max} ms (all ${result.outboundGapsMs.all.max}), cpu ${result.server.cpuPercentOfOneCore}%, heap/call ${result.server.heapPerCallKB} KB, pass ${result.pass}`,
      );
      if (result.server.eventLoopDelayMs.p99 > 1_000) {
        stoppedEarly = `event-loop p99 above 1 s at ${n} calls: larger steps skipped`;
        break;
      }
    }
  } finally {
    await server?.stop();
    await emulators.stop();
  }
  const passing = results.filter((r) => r.pass).map((r) => r.calls);
  let maxCalls = 0;
  for (const r of results) {
    if (!r.pass) break;
    maxCalls = r.calls;
  }
  const out = {
    bench: 'load',
    steps,
    stepDurationMs: durationMs,
    injected: INJECTED,
    target: TARGET,
    criterion: 'server event-loop p99 < 20 ms and no gap > 40 ms between consecutive media messages of one utterance at the caller, every call connected and hearing its reply',
    largestPassingCalls: maxCalls,
    passingSteps: passing,
    stoppedEarly,
    method: {
      processes: 'server (startApp) | emulators (OpenAI, Deepgram, ElevenLabs) | callers (this process)',
      gaps: 'withinUtterance isolates server-side stalls; all also includes utterance boundaries, where the next sentence\'s TTS first byte (150 ms, lookahead permitting) can legitimately show',
      heapPerCall: '(server heapUsed after forced GC with the calls live - heapUsed after forced GC before the step) / calls',
    },
    results,
    p99OfServerLoopByStep: Object.fromEntries(results.map((r) => [r.calls, r.server.eventLoopDelayMs.p99])),
    runtimeMs: Date.now() - started,
    machine: machine(),
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

await main();
