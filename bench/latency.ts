/**
 * Latency bench: scripted phone calls, one at a time, through the signed Twilio webhook and the
 * media stream of the real server (startApp in a child process) against the vendor emulators (in
 * this process) with injected latencies. Everything is measured at the caller side (the Twilio
 * media-stream emulator), then the injected vendor time is subtracted to give our overhead.
 *
 *   tsx bench/latency.ts [--calls 30]
 *
 * Per call: greeting, a plain turn, a tool turn (get_available_slots on Google Calendar), and a
 * barge-in over a long reply. Prints one JSON object on stdout; progress goes to stderr.
 */
import { PHONE_AUDIO } from '../src/core/frames.js';
import type { CallerEvent, TwilioCaller } from '../test/emulators/twilio.js';
import type { EmulatedRequest, StaticResponse } from '../test/emulators/openai.js';
import { silence, speechLike, toFrames } from '../test/support/audio-fixtures.js';
import { baseEnv, placeCall } from './support/phone.js';
import { profileArgs, startServerChild } from './support/server.js';
import type { ServerChild } from './support/server.js';
import { argNumber, epochMs, log, machine, round, sleep, summarize, waitUntil } from './support/stats.js';
import { calibrateAndSay } from './support/calibrate.js';
import { startEmulators } from './support/voice-emulators.js';
import type { Emulators } from './support/voice-emulators.js';

const INJECTED = { sttFinalMs: 150, llmFirstTokenMs: 350, ttsFirstByteMs: 150, calendarMs: 300 };
const PLAYBACK_SPEED = 4; // the caller "plays" agent audio 4x faster: marks come back sooner, the bench runs shorter
const SPEECH_MS = 400;
const LONG_REPLY = 'Our shop has been open since nineteen eighty, and we service every make and model. '.repeat(30);

const calls = argNumber('calls', 30);
const SPEECH_FRAMES = toFrames(speechLike(SPEECH_MS, PHONE_AUDIO), PHONE_AUDIO);
// Deepgram's endpointing (300 ms) runs on audio time: the trailing silence is sent at once, so the
// final comes `sttFinalMs` after speech end, as a real STT's would after its own endpointing.
const TRAILING_SILENCE = silence(400, PHONE_AUDIO);
const BARGE_FRAMES = toFrames(speechLike(1_500, PHONE_AUDIO), PHONE_AUDIO);

function toEpoch(at: number): number {
  return performance.timeOrigin + at;
}

/** The OpenAI emulator's answers, chosen by what the caller said (robust to ordering). */
function responder(slotDate: () => string) {
  return (request: EmulatedRequest): StaticResponse => {
    const last = request.messages[request.messages.length - 1];
    const timing = { firstTokenDelayMs: INJECTED.llmFirstTokenMs };
    if (last?.['role'] === 'tool') return { ...timing, text: 'I have ten and eleven open that morning. Which one suits you?' };
    const said = String(last?.['content'] ?? '').toLowerCase();
    if (said.includes('hours')) return { ...timing, text: 'We are open nine to five on weekdays, and nine to three on Saturdays.' };
    if (said.includes('free')) return { ...timing, toolCalls: [{ name: 'get_available_slots', arguments: { date: slotDate() } }] };
    if (said.includes('everything')) return { ...timing, text: LONG_REPLY };
    return { ...timing, text: 'Sure.' };
  };
}

async function sendRealTime(caller: TwilioCaller, frames: readonly Uint8Array[], until?: () => boolean): Promise<{ firstAt: number; lastAt: number }> {
  const start = performance.now();
  let firstAt = 0;
  let lastAt = 0;
  for (let i = 0; i < frames.length; i++) {
    if (until?.()) break;
    const wait = start + i * 20 - performance.now();
    if (wait > 0) await sleep(wait);
    caller.sendAudio(frames[i]!);
    lastAt = epochMs();
    if (i === 0) firstAt = lastAt;
  }
  return { firstAt, lastAt };
}

/** Media events after `sinceEpoch`, each with the utterance id of the mark that follows it. */
function mediaAfter(events: readonly CallerEvent[], sinceEpoch: number): Array<{ at: number; utterance: string }> {
  const out: Array<{ at: number; utterance: string }> = [];
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (e.type !== 'media' || toEpoch(e.at) < sinceEpoch) continue;
    let utterance = '?';
    for (let j = i + 1; j < events.length; j++) {
      const next = events[j]!;
      if (next.type === 'mark') {
        utterance = next.name.split('.')[0] ?? '?';
        break;
      }
    }
    out.push({ at: toEpoch(e.at), utterance });
  }
  return out;
}

/** Everything queued has played (every mark echoed) and nothing has arrived for a moment. */
async function agentIdle(caller: TwilioCaller, timeoutMs = 15_000): Promise<void> {
  await waitUntil(
    () => {
      const lastMedia = [...caller.events].reverse().find((e) => e.type === 'media');
      return caller.marks.length > 0 && caller.echoedMarks.length === caller.marks.length && lastMedia !== undefined && performance.now() - lastMedia.at > 150;
    },
    timeoutMs,
    'agent idle',
    5,
  );
}

interface CallResult {
  greetingFromWebhookMs: number;
  greetingFromStreamStartMs: number;
  plain: TurnResult;
  tool: TurnResult & { fillerV2vMs: number; toolCallToFillerMs: number; calendarRequests: number };
  bargeIn: { rawMs: number; sttDetectionMs: number; adjustedMs: number; callerToSttMs: number; sttToClearMs: number } | undefined;
}

interface TurnResult {
  v2vMs: number;
  overheadMs: number;
  /** Where the time went, from the emulators' clocks (ms after the caller's speech end). */
  breakdown: Record<string, number | undefined>;
}

async function speak(caller: TwilioCaller, emu: Emulators, text: string): Promise<number> {
  emu.deepgram.script([text]);
  const { lastAt } = await sendRealTime(caller, SPEECH_FRAMES);
  caller.sendAudio(TRAILING_SILENCE);
  return lastAt;
}

function breakdownFor(emu: Emulators, speechEnd: number, openaiFrom: number, ttsFrom: number, dgIndex: number): Record<string, number | undefined> {
  const rel = (t: number | undefined): number | undefined => (t === undefined ? undefined : round(t - speechEnd, 1) ?? undefined);
  const dg = emu.deepgramTimes[dgIndex];
  const finalAt = dg?.speechFinals.find((t) => t >= speechEnd);
  const requests = emu.openaiTimes.slice(openaiFrom);
  return {
    sttFinalSent: rel(finalAt),
    llmRequestArrived: rel(requests[0]?.arrivedAt),
    llmResponseEnded: rel(requests[0]?.closedAt),
    llm2RequestArrived: rel(requests[1]?.arrivedAt),
    llm2ResponseEnded: rel(requests[1]?.closedAt),
    firstTtsText: rel(emu.ttsTextTimes.slice(ttsFrom).find((t) => t >= speechEnd)),
  };
}

async function oneCall(server: ServerChild, emu: Emulators): Promise<CallResult> {
  const dgIndex = emu.deepgram.connections.length; // the connection this call is about to open
  const { caller, webhookAt, streamStartAt } = await placeCall(server.url, { speed: PLAYBACK_SPEED });
  try {
    await caller.waitFor(() => caller.events.some((e) => e.type === 'media'), 10_000);
    const firstMedia = toEpoch(caller.events.find((e) => e.type === 'media')!.at);
    const greetingFromWebhookMs = firstMedia - webhookAt;
    const greetingFromStreamStartMs = firstMedia - streamStartAt;
    await agentIdle(caller);

    // ---- a plain turn -------------------------------------------------------------------------
    let openaiFrom = emu.openaiTimes.length;
    let ttsFrom = emu.ttsTextTimes.length;
    let speechEnd = await speak(caller, emu, 'What are your hours');
    await waitUntil(() => mediaAfter(caller.events, speechEnd).length > 0, 10_000, 'plain reply');
    const plainV2v = mediaAfter(caller.events, speechEnd)[0]!.at - speechEnd;
    const plain: TurnResult = {
      v2vMs: plainV2v,
      overheadMs: plainV2v - INJECTED.sttFinalMs - INJECTED.llmFirstTokenMs - INJECTED.ttsFirstByteMs,
      breakdown: breakdownFor(emu, speechEnd, openaiFrom, ttsFrom, dgIndex),
    };
    await agentIdle(caller);

    // ---- a tool turn: filler, then the reply after the calendar answered ------------------------
    openaiFrom = emu.openaiTimes.length;
    ttsFrom = emu.ttsTextTimes.length;
    const calendarBefore = emu.google?.apiRequests().length ?? 0;
    const tokenBefore = emu.google?.tokenRequests().length ?? 0;
    speechEnd = await speak(caller, emu, 'Is anything free next week');
    await waitUntil(
      () => {
        const media = mediaAfter(caller.events, speechEnd);
        return media.length > 0 && media.some((m) => m.utterance !== '?' && m.utterance !== media[0]!.utterance);
      },
      10_000,
      'filler and reply',
    );
    const media = mediaAfter(caller.events, speechEnd);
    const filler = media[0]!;
    const reply = media.find((m) => m.utterance !== '?' && m.utterance !== filler.utterance)!;
    const calendarRequests =
      (emu.google?.apiRequests().length ?? 0) - calendarBefore + ((emu.google?.tokenRequests().length ?? 0) - tokenBefore);
    const toolCallAnsweredAt = emu.openaiTimes[openaiFrom]?.closedAt ?? Number.NaN;
    const toolV2v = reply.at - speechEnd;
    const tool = {
      v2vMs: toolV2v,
      overheadMs:
        toolV2v - INJECTED.sttFinalMs - 2 * INJECTED.llmFirstTokenMs - calendarRequests * INJECTED.calendarMs - INJECTED.ttsFirstByteMs,
      fillerV2vMs: filler.at - speechEnd,
      toolCallToFillerMs: filler.at - toolCallAnsweredAt,
      calendarRequests,
      breakdown: breakdownFor(emu, speechEnd, openaiFrom, ttsFrom, dgIndex),
    };
    await agentIdle(caller);

    // ---- barge-in over a long reply ---------------------------------------------------------------
    speechEnd = await speak(caller, emu, 'Tell me everything');
    await waitUntil(() => mediaAfter(caller.events, speechEnd).length > 0, 10_000, 'long reply');
    await sleep(600);
    let bargeIn: CallResult['bargeIn'];
    const clearsBefore = caller.clears;
    const dg = emu.deepgramTimes[dgIndex];
    const startedBefore = dg?.speechStarted.length ?? 0;
    const { firstAt } = await sendRealTime(caller, BARGE_FRAMES, () => caller.clears > clearsBefore);
    await caller.waitFor(() => caller.clears > clearsBefore, 5_000).catch(() => undefined);
    const clear = caller.events.find((e) => e.type === 'clear' && toEpoch(e.at) >= firstAt);
    const started = dg?.speechStarted[startedBefore];
    if (clear !== undefined && started !== undefined) {
      const raw = toEpoch(clear.at) - firstAt;
      const detection = started.sentAt - started.audioAt;
      bargeIn = {
        rawMs: raw,
        sttDetectionMs: detection,
        adjustedMs: raw - detection,
        callerToSttMs: started.audioAt - firstAt,
        sttToClearMs: toEpoch(clear.at) - started.sentAt,
      };
    }
    return { greetingFromWebhookMs, greetingFromStreamStartMs, plain, tool, bargeIn };
  } finally {
    caller.hangUp();
    await Promise.race([caller.closed, sleep(3_000)]);
  }
}

function nextMondayPlus(weeks: number): string {
  const d = new Date();
  const daysAhead = ((8 - d.getUTCDay()) % 7) + 7 * weeks;
  d.setUTCDate(d.getUTCDate() + daysAhead);
  return d.toISOString().slice(0, 10);
}

async function main(): Promise<void> {
  // Before anything of the bench runs: its figures move with the machine's speed.
  const calibration = await calibrateAndSay();
  const emu = await startEmulators({
    sttFinalDelayMs: INJECTED.sttFinalMs,
    ttsFirstByteDelayMs: INJECTED.ttsFirstByteMs,
    calendarLatencyMs: INJECTED.calendarMs,
  });
  let callIndex = 0;
  emu.openai.setDefault(responder(() => nextMondayPlus(1 + (callIndex % 8))));
  let server: ServerChild | undefined;
  const results: CallResult[] = [];
  const failures: string[] = [];
  try {
    server = await startServerChild({ ...baseEnv(), ...emu.env(), MAX_CONCURRENT_CALLS: '10' }, profileArgs());
    log(`server at ${server.url}; warm-up call`);
    await oneCall(server, emu); // JIT, pooled connections, the OAuth token: not counted
    const deadline = Date.now() + 10 * 60_000;
    for (callIndex = 1; callIndex <= calls && Date.now() < deadline; callIndex++) {
      try {
        results.push(await oneCall(server, emu));
        const r = results[results.length - 1]!;
        log(`call ${callIndex}/${calls}: plain v2v ${r.plain.v2vMs.toFixed(1)} ms, tool v2v ${r.tool.v2vMs.toFixed(1)} ms, barge-in ${r.bargeIn?.rawMs.toFixed(1) ?? 'n/a'} ms`);
      } catch (error) {
        failures.push(error instanceof Error ? error.message : String(error));
        log(`call ${callIndex} failed: ${String(error)}`);
      }
    }
  } finally {
    await server?.stop();
    await emu.close();
  }

  const pick = (f: (r: CallResult) => number | undefined): number[] =>
    results.map(f).filter((v): v is number => v !== undefined && Number.isFinite(v));
  const breakdown = (turn: 'plain' | 'tool'): Record<string, unknown> => {
    const keys = Object.keys(results[0]?.[turn].breakdown ?? {});
    return Object.fromEntries(keys.map((k) => [k, summarize(pick((r) => r[turn].breakdown[k]))]));
  };
  const out = {
    bench: 'latency',
    calls: results.length,
    failedCalls: failures.length,
    failures: failures.slice(0, 5),
    injected: { ...INJECTED, sttEndpointing: 'Deepgram endpointing 300 ms of audio time; trailing silence is sent at once' },
    method: {
      server: 'startApp in a child process (its own event loop); emulators and caller in the bench process',
      speechEnd: 'send time of the caller\'s last 20 ms speech frame (frames sent in real time)',
      firstAgentMedia: 'arrival of the first media message of the turn at the caller',
      playbackSpeed: PLAYBACK_SPEED,
    },
    greetingMs: {
      fromWebhook: summarize(pick((r) => r.greetingFromWebhookMs)),
      fromStreamStart: summarize(pick((r) => r.greetingFromStreamStartMs)),
      note: 'includes the injected TTS first byte (150 ms) unless the greeting is pre-synthesised',
    },
    plainTurn: {
      voiceToVoiceMs: summarize(pick((r) => r.plain.v2vMs)),
      overheadMs: summarize(pick((r) => r.plain.overheadMs)),
      breakdownMsAfterSpeechEnd: breakdown('plain'),
    },
    toolTurn: {
      voiceToVoiceToFillerMs: summarize(pick((r) => r.tool.fillerV2vMs)),
      voiceToVoiceToReplyMs: summarize(pick((r) => r.tool.v2vMs)),
      overheadMs: summarize(pick((r) => r.tool.overheadMs)),
      calendarRequestsPerTurn: summarize(pick((r) => r.tool.calendarRequests)),
      toolCallToFillerMs: summarize(pick((r) => r.tool.toolCallToFillerMs)),
      breakdownMsAfterSpeechEnd: breakdown('tool'),
    },
    overheadAllTurnsMs: summarize([...pick((r) => r.plain.overheadMs), ...pick((r) => r.tool.overheadMs)]),
    bargeInToClearMs: {
      raw: summarize(pick((r) => r.bargeIn?.rawMs), 2),
      sttDetection: summarize(pick((r) => r.bargeIn?.sttDetectionMs), 3),
      adjusted: summarize(pick((r) => r.bargeIn?.adjustedMs), 2),
      callerToStt: summarize(pick((r) => r.bargeIn?.callerToSttMs), 2),
      sttSpeechStartedToClear: summarize(pick((r) => r.bargeIn?.sttToClearMs), 2),
      note: 'raw: caller\'s first speech frame sent -> clear received. adjusted: minus the STT emulator\'s own detection (audio received -> SpeechStarted sent)',
    },
    machine: machine(),
    calibration,
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

await main();
