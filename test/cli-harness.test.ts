/**
 * The CLI harness (scripts/harness.ts, run with tsx as `npm run harness` does) against a small
 * fake server speaking the harness protocol: typed turns, a WAV streamed in real time with the
 * agent's audio recorded, marks echoed after playback, the token, and connection errors.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { pcm16FromBytes, pcm16ToBytes, rms } from '../src/audio/pcm.js';
import { decodeWav, encodeWav } from '../src/audio/wav.js';
import type { SessionEvent } from '../src/core/frames.js';
import { parseHarnessArgs } from '../src/harness-client/args.js';
import { formatLatency } from '../src/harness-client/format.js';
import { harnessUrl } from '../src/harness-client/protocol.js';
import { freePort } from './support/spawn-server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TOKEN = 'test-harness-token';
const AGENT_TONE_MS = 600;

interface FakeCall {
  start: Record<string, unknown> | undefined;
  texts: string[];
  audioFrames: number[];
  voicedMs: number;
  /** Mark name -> [sent at, echoed at] (performance.now). */
  marks: Map<string, [number, number | undefined]>;
  stopped: boolean;
  url: string;
}

let server: WebSocketServer;
let port: number;
let calls: FakeCall[] = [];
let dir: string;

function tone(ms: number, sampleRate: number, amplitude = 8000, hz = 440): Int16Array {
  const n = Math.round((ms * sampleRate) / 1000);
  return Int16Array.from({ length: n }, (_, i) => Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / sampleRate)));
}

/** A stand-in for the /harness/ws route: a scripted agent that answers typed turns and speech. */
function startFakeServer(): WebSocketServer {
  const wss = new WebSocketServer({ port, path: '/harness/ws' });
  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.searchParams.get('token') !== TOKEN) {
      socket.close(1008, 'bad token');
      return;
    }
    const call: FakeCall = { start: undefined, texts: [], audioFrames: [], voicedMs: 0, marks: new Map(), stopped: false, url: request.url ?? '' };
    calls.push(call);
    let turn = 0;
    let speaking = false;
    let silentMs = 0;
    let markCounter = 0;
    const send = (message: unknown): void => socket.send(JSON.stringify(message));
    const event = (e: SessionEvent): void => send({ type: 'event', event: e });
    const end = (reason: string): void => {
      event({ type: 'call_ended', reason });
      send({ type: 'ended', reason });
      socket.close(1000);
    };
    const answer = (said: string): void => {
      turn += 1;
      event({ type: 'user_transcript', text: said, final: true });
      event({ type: 'tool_call', id: `c${turn}`, name: 'get_available_slots', arguments: '{"date":"2026-12-04"}' });
      event({
        type: 'tool_result',
        id: `c${turn}`,
        name: 'get_available_slots',
        result: { success: true, data: {}, message: 'On Friday, December 4 I have 9 AM.' },
        durationMs: 12,
      });
      event({ type: 'agent_text', text: `Answer ${turn}: I have 9 AM on Friday.`, turn });
      event({ type: 'latency', turn, timeline: { llm_first_token: 5, 'tool_start:get_available_slots': 6, 'tool_end:get_available_slots': 18, turn_done: 30 } });
    };

    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        call.audioFrames.push(data.length);
        const loud = rms(pcm16FromBytes(new Uint8Array(data))) > 1000;
        const ms = data.length / 32;
        if (loud) {
          call.voicedMs += ms;
          speaking = true;
          silentMs = 0;
        } else if (speaking) {
          silentMs += ms;
          if (silentMs >= 300) {
            speaking = false;
            answer(`(${Math.round(call.voicedMs)} ms of speech)`);
            // The agent speaks: audio in 100 ms chunks, each followed by a mark.
            const audio = pcm16ToBytes(tone(AGENT_TONE_MS, 16000, 6000, 660));
            for (let offset = 0; offset < audio.length; offset += 3200) {
              socket.send(audio.subarray(offset, offset + 3200), { binary: true });
              const name = `m${++markCounter}`;
              call.marks.set(name, [performance.now(), undefined]);
              send({ type: 'mark', name });
            }
          }
        }
        return;
      }
      const message = JSON.parse(data.toString()) as { type: string; text?: string; name?: string };
      switch (message.type) {
        case 'start':
          call.start = message;
          send({ type: 'started', callId: `CA-fake-${calls.length}`, mode: (message as { mode?: string }).mode ?? 'voice', audio: true });
          event({ type: 'agent_text', text: 'Thanks for calling Fake Garage. How can I help?', turn: 0 });
          return;
        case 'text':
          call.texts.push(message.text ?? '');
          if (/bye/i.test(message.text ?? '')) {
            turn += 1;
            event({ type: 'user_transcript', text: message.text ?? '', final: true });
            event({ type: 'tool_call', id: 'end', name: 'end_call', arguments: '{}' });
            event({ type: 'agent_text', text: 'Thanks for calling, goodbye!', turn });
            event({ type: 'latency', turn, timeline: { llm_first_token: 3, turn_done: 9 } });
            end('agent_ended');
          } else {
            answer(message.text ?? '');
          }
          return;
        case 'mark': {
          const entry = call.marks.get(message.name ?? '');
          if (entry) entry[1] = performance.now();
          return;
        }
        case 'stop':
          call.stopped = true;
          end('caller_hung_up');
          return;
      }
    });
  });
  return wss;
}

function runCli(args: string[], options: { stdin?: string; env?: Record<string, string> } = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/harness.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.end(options.stdin ?? '');
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  port = await freePort();
  server = startFakeServer();
  dir = await mkdtemp(join(tmpdir(), 'cli-harness-'));
});
afterAll(async () => {
  for (const client of server.clients) client.terminate();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  calls = [];
});

describe('CLI harness', () => {
  it('--text: sends typed lines one turn at a time and prints transcript, tools and latencies', async () => {
    const result = await runCli(['--text', '--url', `ws://127.0.0.1:${port}`, '--caller', '+15551230009'], {
      stdin: "what's free on Friday?\n\nbook 9 am\nok bye\n",
      env: { HARNESS_TOKEN: TOKEN },
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.start).toEqual({ type: 'start', mode: 'text', callerNumber: '+15551230009' });
    expect(calls[0]!.texts).toEqual(["what's free on Friday?", 'book 9 am', 'ok bye']);
    const lines = result.stdout.split('\n');
    expect(lines).toContain("caller: what's free on Friday?");
    expect(lines).toContain('agent:  Answer 1: I have 9 AM on Friday.');
    expect(lines).toContain('  -> get_available_slots(date="2026-12-04")');
    expect(lines).toContain('  <- get_available_slots ok: On Friday, December 4 I have 9 AM. (12 ms)');
    expect(lines).toContain('   turn 1: llm 5 | get_available_slots 12 | done 30 ms');
    expect(lines).toContain('  -> end_call()');
    expect(lines).toContain('-- call ended: agent_ended');
    // Each turn's answer comes before the next line is sent.
    expect(result.stdout.indexOf('Answer 1')).toBeLessThan(result.stdout.indexOf('caller: book 9 am'));
  });

  it('--text: hangs up (stop) when stdin ends before the call does', async () => {
    const result = await runCli(['--text', '--url', `ws://127.0.0.1:${port}/harness/ws`, '--token', TOKEN], { stdin: 'hello\n' });
    expect(result.code).toBe(0);
    expect(calls[0]!.stopped).toBe(true);
    expect(result.stdout).toContain('-- call ended: caller_hung_up');
  });

  it('--wav: streams the file in real time at 16 kHz, echoes marks after playback and records the agent', async () => {
    // 8 kHz input: the CLI resamples to 16 kHz. 700 ms of speech, then 200 ms of quiet.
    const input = encodeWav(Int16Array.from([...tone(700, 8000), ...new Int16Array(1600)]), { encoding: 'linear16', sampleRate: 8000 });
    const inPath = join(dir, 'in.wav');
    const outPath = join(dir, 'out.wav');
    await writeFile(inPath, input);
    const started = performance.now();
    const result = await runCli(['--wav', inPath, '--out', outPath, '--url', `ws://127.0.0.1:${port}`, '--token', TOKEN]);
    const elapsed = performance.now() - started;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);

    const call = calls[0]!;
    expect(call.start).toMatchObject({ type: 'start', mode: 'voice' });
    expect(call.audioFrames.every((n) => n === 640)).toBe(true);
    expect(call.voicedMs).toBeGreaterThanOrEqual(660);
    expect(call.voicedMs).toBeLessThanOrEqual(740);
    // Real time: the 0.9 s file plus silence while the agent answered cannot have been sent faster.
    expect(elapsed).toBeGreaterThan(1_500);
    expect(result.stdout).toContain('caller: (');
    expect(result.stdout).toMatch(/agent: {2}Answer 1/);

    // Marks come back only once the audio before them has played (100 ms chunks at real time).
    const marks = [...call.marks.values()];
    expect(marks).toHaveLength(AGENT_TONE_MS / 100);
    const [firstSent] = marks[0]!;
    const lastEcho = marks[marks.length - 1]![1];
    expect(lastEcho).toBeDefined();
    expect(lastEcho! - firstSent).toBeGreaterThanOrEqual(AGENT_TONE_MS - 50);

    const recording = decodeWav(new Uint8Array(await readFile(outPath)));
    expect(recording.sampleRate).toBe(16000);
    expect(recording.data.length).toBe((AGENT_TONE_MS / 1000) * 32000);
    expect(call.stopped).toBe(true);
  }, 30_000);

  it('exits non-zero when it cannot connect, or the token is refused', async () => {
    const closedPort = await freePort();
    const refused = await runCli(['--text', '--url', `ws://127.0.0.1:${closedPort}`], { stdin: 'hello\n' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/cannot connect/);

    const badToken = await runCli(['--text', '--url', `ws://127.0.0.1:${port}`, '--token', 'wrong'], { stdin: 'hello\n' });
    expect(badToken.code).toBe(1);
    expect(badToken.stderr).toMatch(/1008/);
  });

  it('explains its usage errors', async () => {
    const result = await runCli(['--wav']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--wav needs a file/);
    const notWav = join(dir, 'not.wav');
    await writeFile(notWav, 'hello');
    const unreadable = await runCli(['--wav', notWav, '--url', `ws://127.0.0.1:${port}`, '--token', TOKEN]);
    expect(unreadable.code).toBe(2);
    expect(unreadable.stderr).toMatch(/not a usable WAV file/);
    expect(calls).toHaveLength(0);
  });
});

describe('harness client pieces', () => {
  it.each([
    { argv: ['--text'], expected: { mode: 'text', timeoutMs: 120_000, callerNumber: '+15551230001' } },
    { argv: ['--wav', 'a.wav', '--out', 'b.wav', '--timeout', '5'], expected: { mode: 'wav', wavPath: 'a.wav', outPath: 'b.wav', timeoutMs: 5_000 } },
    { argv: [], expected: { mode: 'mic', url: 'ws://localhost:8080/harness/ws', token: 'from-env' } },
  ])('parses $argv', ({ argv, expected }) => {
    const parsed = parseHarnessArgs(argv, { HARNESS_TOKEN: 'from-env' });
    expect(parsed.ok && parsed.args).toMatchObject(expected);
  });

  it.each([
    [['--text', '--wav', 'x.wav'], /one of/],
    [['--url', 'ftp://x'], /not a ws/],
    [['--caller', 'abc'], /phone number/],
    [['--bogus'], /unknown option/],
  ])('rejects %j', (argv, message) => {
    const parsed = parseHarnessArgs(argv, {});
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toMatch(message);
  });

  it.each([
    ['http://localhost:8080', undefined, 'ws://localhost:8080/harness/ws'],
    ['https://shop.example', 't k', 'wss://shop.example/harness/ws?token=t+k'],
    ['ws://h:1/harness/ws', 'x', 'ws://h:1/harness/ws?token=x'],
  ])('builds the socket URL from %s', (base, token, expected) => {
    expect(harnessUrl(base, token)).toBe(expected);
  });

  it('prints a latency line with only the marks a turn reached', () => {
    expect(formatLatency(3, { stt_final: 150, llm_first_token: 420, first_audio_out: 610, turn_done: 2000 })).toBe(
      '   turn 3: stt 150 | llm 420 | first audio 610 | done 2000 ms',
    );
    expect(formatLatency(1, {})).toBe('   turn 1: (no marks)');
  });
});
