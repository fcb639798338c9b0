/**
 * Memory bench: the server's heap per live call, and its growth over 1,000 sequential short phone
 * calls (webhook, stream, greeting heard, hang-up). The server (startApp) runs in a child process
 * started with --expose-gc, so every reading follows a forced full GC; the emulators and the
 * caller run here.
 *
 *   tsx bench/memory.ts [--calls 1000] [--live 50]
 *
 * Note: each finished call adds a row to call_records in the (in-memory PGlite) database; that is
 * data, not a leak, and it lives in WASM memory (external/arrayBuffers), not the JS heap.
 */
import { baseEnv, placeCall } from './support/phone.js';
import { startServerChild } from './support/server.js';
import type { ServerChild, ServerStats } from './support/server.js';
import { argNumber, log, machine, round, sleep, waitUntil } from './support/stats.js';
import { startEmulators } from './support/voice-emulators.js';

const calls = argNumber('calls', 1000);
const liveCalls = argNumber('live', 50);
const TIME_BUDGET_MS = 5 * 60_000;

function mb(bytes: number): number {
  return round(bytes / 2 ** 20, 2) ?? 0;
}

function snapshot(label: string, after: number, stats: ServerStats): Record<string, unknown> {
  return {
    label,
    callsDone: after,
    heapUsedMB: mb(stats.memory.heapUsed),
    heapTotalMB: mb(stats.memory.heapTotal),
    externalMB: mb(stats.memory.external),
    arrayBuffersMB: mb(stats.memory.arrayBuffers),
    rssMB: mb(stats.memory.rss),
    activeCalls: stats.activeCalls,
  };
}

async function shortCall(server: ServerChild): Promise<void> {
  const { caller } = await placeCall(server.url, { speed: 50 });
  try {
    await caller.waitFor(() => caller.events.some((e) => e.type === 'media'), 10_000);
  } finally {
    caller.hangUp();
    await Promise.race([caller.closed, sleep(3_000)]);
  }
}

async function settle(server: ServerChild): Promise<ServerStats> {
  await waitUntil(async () => (await server.stats()).activeCalls === 0, 30_000, 'calls to end', 50);
  await sleep(200); // call records are saved after the call ends
  return server.stats({ gc: true });
}

async function main(): Promise<void> {
  const started = Date.now();
  const emu = await startEmulators({ sttFinalDelayMs: 0, ttsFirstByteDelayMs: 0 });
  let server: ServerChild | undefined;
  const samples: Array<Record<string, unknown>> = [];
  let done = 0;
  let failed = 0;
  let perLiveCall: Record<string, unknown> | undefined;
  try {
    server = await startServerChild({ ...baseEnv(), ...emu.env(), MAX_CONCURRENT_CALLS: '1000' });
    if (!(await server.stats()).gcExposed) log('warning: gc not exposed in the server child; heap readings include garbage');
    for (let i = 0; i < 30; i++) await shortCall(server); // warm-up: JIT, pools, prepared statements
    const base = await settle(server);
    samples.push(snapshot('baseline (after 30 warm-up calls)', 0, base));

    // Heap per live call: `liveCalls` calls open at once, after their greeting.
    const live = await Promise.all(Array.from({ length: liveCalls }, () => placeCall(server!.url, { speed: 50 })));
    await Promise.all(live.map(({ caller }) => caller.waitFor(() => caller.events.some((e) => e.type === 'media'), 15_000)));
    await sleep(500);
    const withLive = await server.stats({ gc: true });
    perLiveCall = {
      liveCalls,
      heapPerCallKB: round((withLive.memory.heapUsed - base.memory.heapUsed) / 1024 / liveCalls, 1),
      externalPerCallKB: round((withLive.memory.external - base.memory.external) / 1024 / liveCalls, 1),
      rssPerCallKB: round((withLive.memory.rss - base.memory.rss) / 1024 / liveCalls, 1),
    };
    for (const { caller } of live) caller.hangUp();
    await Promise.race([Promise.all(live.map(({ caller }) => caller.closed)), sleep(10_000)]);
    const afterLive = await settle(server);
    samples.push(snapshot(`after ${liveCalls} concurrent calls ended`, 0, afterLive));

    const sequentialBase = afterLive;
    for (done = 0; done < calls && Date.now() - started < TIME_BUDGET_MS; ) {
      try {
        await shortCall(server);
      } catch (error) {
        failed++;
        if (failed <= 3) log(`call failed: ${String(error)}`);
      }
      done++;
      if (done % 100 === 0) {
        const s = await settle(server);
        samples.push(snapshot(`after ${done} sequential calls`, done, s));
        log(`${done} calls: heap ${mb(s.memory.heapUsed)} MB, external ${mb(s.memory.external)} MB, rss ${mb(s.memory.rss)} MB`);
      }
    }
    const end = await settle(server);
    samples.push(snapshot('end', done, end));
    const growth = end.memory.heapUsed - sequentialBase.memory.heapUsed;
    const slope = linearSlope(samples.filter((s) => typeof s.callsDone === 'number' && (s.callsDone as number) > 0).map((s) => [s.callsDone as number, s.heapUsedMB as number]));
    process.stdout.write(
      `${JSON.stringify(
        {
          bench: 'memory',
          sequentialCalls: done,
          failedCalls: failed,
          gcForced: end.gcExposed,
          heapPerLiveCall: perLiveCall,
          heapBeforeMB: mb(sequentialBase.memory.heapUsed),
          heapAfterMB: mb(end.memory.heapUsed),
          heapGrowthMB: mb(growth),
          heapGrowthPerCallBytes: done === 0 ? null : Math.round(growth / done),
          heapSlopeKBPer100Calls: slope === null ? null : round(slope * 1024 * 100, 1),
          externalGrowthMB: mb(end.memory.external - sequentialBase.memory.external),
          rssGrowthMB: mb(end.memory.rss - sequentialBase.memory.rss),
          samples,
          runtimeMs: Date.now() - started,
          machine: machine(),
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    await server?.stop();
    await emu.close();
  }
}

/** Least-squares slope of y over x (MB per call), or null with fewer than 2 points. */
function linearSlope(points: Array<[number, number]>): number | null {
  if (points.length < 2) return null;
  const n = points.length;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  const num = points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0);
  const den = points.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  return den === 0 ? null : num / den;
}

await main();
