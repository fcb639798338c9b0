/**
 * Load bench: N concurrent phone calls in steady conversation, stepping N up, judged by what the
 * callers hear and by every server process's event loop.
 *
 *   tsx bench/load.ts [--steps 50,100,200,300,400] [--step-ms 20000] [--workers 1|N|auto]
 *                     [--database-url postgres://...] [--redis-url redis://...] [--server-prof DIR (V8 profile of the window)]
 *                     [--out bench/results/load.json]
 *
 * Processes: the server as deployed (`tsx src/main.ts`, configured by env, WORKERS, DATABASE_URL
 * and REDIS_URL passed through), measured by a probe NODE_OPTIONS preloads into each of its
 * processes (event-loop delay, CPU; support/process-probe.mjs); the vendor emulators (OpenAI,
 * Deepgram, ElevenLabs) in a second process; the callers here. With --database-url the bench makes
 * a scratch database on that server, points the server at it and drops it afterwards.
 *
 * A call: greeting; the caller speaks 1.2 s, the agent answers (about 8 s of speech), the caller
 * listens to the end, pauses, speaks again; 20 ms media frames both ways throughout. A call has an
 * audible gap when the audio sent ahead of real time (as Twilio plays it, support/listening-caller.ts)
 * runs dry mid-utterance for more than 20 ms. A step passes when every call connected and heard
 * replies, no call had an audible gap, and every server process's event-loop p99 was < 20 ms over
 * the measured window. The result is the largest passing N (steps above a failure are not run once
 * the server's loop p99 passes 1 s).
 */
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { PHONE_AUDIO } from '../src/core/frames.js';
import { silence, speechLike, toFrames } from '../test/support/audio-fixtures.js';
import { startEmulatorProcess } from './support/emulators-process.js';
import type { EmulatorProcess } from './support/emulators-process.js';
import { callAndListen, AUDIBLE_GAP_MS } from './support/listening-caller.js';
import type { CallerScript, HeardStats, ListeningCaller } from './support/listening-caller.js';
import { baseEnv } from './support/phone.js';
import { startServerProcess } from './support/server-process.js';
import type { ProcessReport, ServerProcess } from './support/server-process.js';
import { argValue, log, machine, round, sleep } from './support/stats.js';
import { calibrate } from './support/calibrate.js';
import type { Calibration } from './support/calibrate.js';

const steps = (argValue('steps') ?? '50,100,200,300,400').split(',').map(Number).filter((n) => n > 0);
const stepMs = Number(argValue('step-ms') ?? 20_000);
const workersArg = argValue('workers') ?? '1';
const workers = workersArg === 'auto' ? String(os.availableParallelism()) : workersArg;
const databaseUrl = argValue('database-url');
const redisUrl = argValue('redis-url');
const profileDir = argValue('server-prof');
const outPath = argValue('out') ?? fileURLToPath(new URL('./results/load.json', import.meta.url));
if (!Number.isFinite(stepMs) || stepMs < 2_000) throw new Error('--step-ms must be at least 2000');
if (!/^\d+$/.test(workers) || Number(workers) < 1) throw new Error('--workers must be a positive number or auto');

const TARGET = { eventLoopP99Ms: 20, audibleGaps: 0 };
/**
 * What the emulated vendors do, per call. ElevenLabs: 150 ms to the first audio of each flushed
 * sentence, then 100 ms chunks every 50 ms, so audio arrives at 2x real time (the real service
 * streams faster than real time, in larger chunks); 60 ms of speech per character (~165 words a
 * minute). Deepgram: finals 150 ms after the speech ends. OpenAI: first token after 350 ms.
 */
const INJECTED = { sttFinalMs: 150, llmFirstTokenMs: 350, ttsFirstByteMs: 150, ttsChunkMs: 100, ttsInterChunkDelayMs: 50, msPerChar: 60 };
const TTS_SPEED_VS_REAL_TIME = INJECTED.ttsChunkMs / INJECTED.ttsInterChunkDelayMs;
const REPLY = 'Sure, I can help with that. We have an opening tomorrow at nine in the morning, and an oil change takes about forty five minutes.';

const b64 = (frame: Uint8Array): string => Buffer.from(frame).toString('base64');
const SCRIPT: CallerScript = {
  speechPayloads: toFrames(speechLike(1_200, PHONE_AUDIO), PHONE_AUDIO).map(b64),
  silencePayload: b64(silence(20, PHONE_AUDIO)),
  pauseAfterReplyMs: 600,
  replyTimeoutMs: 10_000,
};

interface ProcessStep {
  pid: number;
  role: string;
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  cpuPercentOfOneCore: number | null;
  /** Of which in the kernel (socket reads and writes, loopback TCP). */
  systemCpuPercentOfOneCore: number | null;
  rssMB: number;
  /** Main-thread GC pauses over the window: how many, their total and the longest (major ones apart). */
  gcPauses: ProcessReport['gc'];
}

interface StepResult {
  calls: number;
  callsConnected: number;
  callsHearingReplies: number;
  windowMs: number;
  heard: {
    callsWithAudibleGaps: number;
    audibleGaps: number;
    longestGapMs: number;
    repliesMissing: number;
    turnsTaken: number;
    agentAudioSecondsPerCall: number | null;
    mediaMessagesPerCallPerSecond: number | null;
  };
  server: {
    processes: ProcessStep[];
    worstEventLoopP99Ms: number;
    /** Server processes too busy to report within 5 s at the end of the window (counted as failing). */
    processesNotAnswering: number;
    cpuPercentOfOneCore: number | null;
    cpuPercentOfOneCorePerCall: number | null;
    /** Less what the server costs with no calls (serverIdleCpuPercentOfOneCore). */
    marginalCpuPercentOfOneCorePerCall: number | null;
  };
  otherProcesses: {
    emulatorsEventLoopP99Ms: number;
    emulatorsCpuPercent: number | null;
    callersEventLoopP99Ms: number;
    callersCpuPercent: number | null;
    /** Callers' own loop p99 above 20 ms: their timing, not the server's, may explain gaps. */
    callersOverloaded: boolean;
  };
  machineLoadAverage1m: number;
  /** The machine's speed just before the step (support/calibrate.ts): compare runs by it. */
  calibration: Calibration;
  pass: boolean;
}

function cpuMs(before: NodeJS.CpuUsage, after: NodeJS.CpuUsage): number {
  return (after.user + after.system - before.user - before.system) / 1000;
}

async function runStep(n: number, server: ServerProcess, emulators: EmulatorProcess, idleCpuPercent: number | null): Promise<StepResult> {
  const calibration = await calibrate();
  const rampMs = Math.min(6_000, n * 15);
  const calls: ListeningCaller[] = [];
  let failed = 0;
  const stepStart = performance.now();
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      await sleep((rampMs * i) / n);
      try {
        calls.push(await callAndListen(server.url, `+1555${String(1_000_000 + i).slice(1)}`, SCRIPT));
      } catch (error) {
        failed += 1;
        if (failed <= 3) log(`call ${i} failed to connect: ${String(error)}`);
      }
    }),
  );
  // Steady state: every call past its greeting and into its conversation.
  await sleep(Math.max(0, stepStart + rampMs + 5_000 - performance.now()));

  const callerLoop = monitorEventLoopDelay({ resolution: 1 });
  callerLoop.enable();
  for (const call of calls) call.resetStats();
  const { reports: before } = await server.report(true);
  const emuBefore = await emulators.stats(true);
  const callerCpuBefore = process.cpuUsage();
  const from = performance.now();
  server.profile('start');
  await sleep(stepMs);
  const windowMs = performance.now() - from;
  server.profile('stop');
  const { reports: after, silent } = await server.report(false);
  const emuAfter = await emulators.stats();
  const callerCpu = process.cpuUsage(callerCpuBefore);
  callerLoop.disable();
  const heard: HeardStats[] = calls.map((c) => c.stats());

  const processes: ProcessStep[] = after.map((a: ProcessReport) => {
    const b = before.find((p) => p.pid === a.pid);
    return {
      pid: a.pid,
      role: a.role,
      eventLoopDelayMs: { p50: a.eventLoop.p50Ms, p99: a.eventLoop.p99Ms, max: a.eventLoop.maxMs },
      cpuPercentOfOneCore: b === undefined ? null : round((cpuMs(b.cpu, a.cpu) / windowMs) * 100, 1),
      systemCpuPercentOfOneCore: b === undefined ? null : round(((a.cpu.system - b.cpu.system) / 1000 / windowMs) * 100, 1),
      rssMB: round(a.memory.rss / 2 ** 20, 1) ?? 0,
      gcPauses: a.gc,
    };
  });
  const serverCpuMs = after.reduce((sum, a) => {
    const b = before.find((p) => p.pid === a.pid);
    return b === undefined ? sum : sum + cpuMs(b.cpu, a.cpu);
  }, 0);
  const connected = calls.length;
  const worstP99 = Math.max(0, ...processes.map((p) => p.eventLoopDelayMs.p99));
  const hearing = heard.filter((h) => h.audioMs > 0).length;
  const gaps = heard.reduce((s, h) => s + h.audibleGaps, 0);
  const callersP99 = Math.round((callerLoop.percentile(99) || 0) / 1e3) / 1e3;
  const result: StepResult = {
    calls: n,
    callsConnected: connected,
    callsHearingReplies: hearing,
    windowMs: Math.round(windowMs),
    heard: {
      callsWithAudibleGaps: heard.filter((h) => h.audibleGaps > 0).length,
      audibleGaps: gaps,
      longestGapMs: round(Math.max(0, ...heard.map((h) => h.longestGapMs)), 1) ?? 0,
      repliesMissing: heard.reduce((s, h) => s + h.repliesMissing, 0),
      turnsTaken: heard.reduce((s, h) => s + h.turnsTaken, 0),
      agentAudioSecondsPerCall: connected === 0 ? null : round(heard.reduce((s, h) => s + h.audioMs, 0) / 1000 / connected, 1),
      mediaMessagesPerCallPerSecond: connected === 0 ? null : round(heard.reduce((s, h) => s + h.mediaMessages, 0) / connected / (windowMs / 1000), 1),
    },
    server: {
      processes,
      worstEventLoopP99Ms: worstP99,
      processesNotAnswering: silent.length,
      cpuPercentOfOneCore: round((serverCpuMs / windowMs) * 100, 1),
      cpuPercentOfOneCorePerCall: connected === 0 ? null : round((serverCpuMs / windowMs) * 100 / connected, 3),
      marginalCpuPercentOfOneCorePerCall:
        connected === 0 || idleCpuPercent === null ? null : round(((serverCpuMs / windowMs) * 100 - idleCpuPercent) / connected, 3),
    },
    otherProcesses: {
      emulatorsEventLoopP99Ms: emuAfter.eventLoop.p99Ms,
      emulatorsCpuPercent: round((cpuMs(emuBefore.cpu, emuAfter.cpu) / windowMs) * 100, 1),
      callersEventLoopP99Ms: callersP99,
      callersCpuPercent: round(((callerCpu.user + callerCpu.system) / 1000 / windowMs) * 100, 1),
      callersOverloaded: callersP99 > TARGET.eventLoopP99Ms,
    },
    machineLoadAverage1m: round(os.loadavg()[0] ?? 0, 2) ?? 0,
    calibration,
    pass: false,
  };
  result.pass = connected === n && hearing === n && gaps === TARGET.audibleGaps && processes.length > 0 && silent.length === 0 && worstP99 < TARGET.eventLoopP99Ms;

  for (const call of calls) call.hangUp();
  await Promise.race([Promise.all(calls.map((c) => c.closed)), sleep(15_000)]);
  // The server finishes each call (records, STT and TTS sockets) after its stream closes.
  await sleep(3_000);
  return result;
}

/** A database of its own on the given server, dropped afterwards: runs never see each other's rows. */
async function scratchDatabase(url: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `load_bench_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const scratch = new URL(url);
  scratch.pathname = `/${name}`;
  return {
    url: scratch.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  const database = databaseUrl === undefined ? undefined : await scratchDatabase(databaseUrl);
  const emulators = await startEmulatorProcess({
    sttFinalDelayMs: INJECTED.sttFinalMs,
    llmFirstTokenMs: INJECTED.llmFirstTokenMs,
    ttsFirstByteDelayMs: INJECTED.ttsFirstByteMs,
    ttsChunkMs: INJECTED.ttsChunkMs,
    ttsInterChunkDelayMs: INJECTED.ttsInterChunkDelayMs,
    msPerChar: INJECTED.msPerChar,
    replyText: REPLY,
  });
  let server: ServerProcess | undefined;
  const results: StepResult[] = [];
  let stoppedEarly: string | undefined;
  let idleCpuPercent: number | null = null;
  try {
    server = await startServerProcess(
      {
        ...baseEnv(),
        ...emulators.env,
        WORKERS: workers,
        ...(database === undefined ? {} : { DATABASE_URL: database.url }),
        ...(redisUrl === undefined ? {} : { REDIS_URL: redisUrl }),
        MAX_CONCURRENT_CALLS: '5000',
        GREETING: 'Main Street Auto, how can I help?',
        ...(profileDir === undefined ? {} : { LOAD_PROFILE_DIR: profileDir }),
      });
    log(`server ${server.url} (pid ${server.pid}, WORKERS=${workers}), emulators pid ${emulators.pid}`);
    // What the server costs with no calls (timers, metrics, GC), so the per-call cost can be told from it.
    const { reports: idleBefore } = await server.report(true);
    await sleep(5_000);
    const { reports: idleAfter } = await server.report(false);
    idleCpuPercent = round((idleAfter.reduce((sum, a) => {
      const b = idleBefore.find((p) => p.pid === a.pid);
      return b === undefined ? sum : sum + cpuMs(b.cpu, a.cpu);
    }, 0) / 5_000) * 100, 2);
    for (const n of steps) {
      log(`step ${n} calls...`);
      const result = await runStep(n, server, emulators, idleCpuPercent);
      results.push(result);
      log(
        `step ${n}: gaps ${result.heard.audibleGaps} in ${result.heard.callsWithAudibleGaps} calls (longest ${result.heard.longestGapMs} ms), ` +
          `loop p99 ${result.server.worstEventLoopP99Ms} ms, server cpu ${result.server.cpuPercentOfOneCore}% (${result.server.cpuPercentOfOneCorePerCall}%/call, ${result.server.marginalCpuPercentOfOneCorePerCall}% over idle), ` +
          `hearing ${result.callsHearingReplies}/${n}, callers p99 ${result.otherProcesses.callersEventLoopP99Ms} ms, ` +
          `machine: cpu loop ${result.calibration.cpuLoopMs} ms, loopback round trip ${result.calibration.loopbackRoundTripUs} µs, pass ${result.pass}`,
      );
      if (result.server.worstEventLoopP99Ms > 1_000 || result.server.processesNotAnswering > 0) {
        stoppedEarly = `event-loop p99 above 1 s (or a server process too busy to report) at ${n} calls: larger steps skipped`;
        break;
      }
    }
  } finally {
    await server?.stop();
    await emulators.stop();
    await database?.drop().catch((error: unknown) => log(`could not drop the scratch database: ${String(error)}`));
  }
  let largest = 0;
  for (const r of results) {
    if (!r.pass) break;
    largest = r.calls;
  }
  const out = {
    bench: 'load',
    steps,
    stepMs,
    workers,
    database: databaseUrl === undefined ? 'PGlite (in memory, single process)' : 'PostgreSQL (scratch database)',
    cache: redisUrl === undefined ? 'in-process' : 'Redis',
    injected: { ...INJECTED, ttsSpeedVsRealTime: TTS_SPEED_VS_REAL_TIME },
    target: TARGET,
    criterion: `no call's playback buffer runs dry for more than ${AUDIBLE_GAP_MS} ms mid-utterance (as Twilio plays it), every call connected and hearing replies, event-loop p99 < ${TARGET.eventLoopP99Ms} ms in every server process`,
    largestPassingCalls: largest,
    serverIdleCpuPercentOfOneCore: idleCpuPercent,
    passingSteps: results.filter((r) => r.pass).map((r) => r.calls),
    stoppedEarly,
    method: {
      processes: 'server: tsx src/main.ts (probe preloaded into each process) | emulators (OpenAI, Deepgram, ElevenLabs) | callers (this process)',
      conversation: `caller speaks ${SCRIPT.speechPayloads.length * 20} ms, listens to the reply (${REPLY.length} characters, ~${Math.round((REPLY.length * INJECTED.msPerChar) / 100) / 10} s of speech) to the end, pauses ${SCRIPT.pauseAfterReplyMs} ms, speaks again; 20 ms frames both ways`,
      cpuPerCall: 'CPU time of all server processes over the window / window / calls, as % of one core; marginal: less the idle server\'s CPU (5 s with no calls, before the first step)',
      window: `${stepMs} ms, after the calls were placed over up to 6 s and 5 s of warm-up`,
      calibration: 'before each step, in the bench process with no calls up: a fixed loop of 20 million integer operations (ms) and 2,000 round trips of 200 bytes over loopback TCP (µs each), best of 3',
    },
    results,
    runtimeMs: Date.now() - started,
    machine: machine(),
  };
  const json = `${JSON.stringify(out, null, 2)}\n`;
  writeFileSync(outPath, json);
  process.stdout.write(json);
}

await main();
