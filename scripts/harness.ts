/**
 * CLI harness: call a running server over its harness WebSocket, typed, from a WAV file or from
 * the microphone, and watch the transcript, tool calls and latencies.
 *
 *   npm run harness -- --text
 *   npm run harness -- --wav caller.wav --out agent.wav
 *   npm run harness                       (microphone: sox or arecord/aplay)
 *
 * The work is in src/harness-client/; this file only wires the process to it: arguments and
 * environment, stdin, files, audio programs, Ctrl-C and the exit code.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseHarnessArgs } from '../src/harness-client/args.js';
import { wavToHarnessAudio } from '../src/harness-client/audio.js';
import { EXIT_CONNECTION, EXIT_USAGE, runHarness } from '../src/harness-client/client.js';
import type { AudioDevices, HarnessInput } from '../src/harness-client/client.js';

const RAW_16K = ['-t', 'raw', '-r', '16000', '-e', 'signed-integer', '-b', '16', '-c', '1', '-L'];

function findProgram(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** sox (record with `sox -d`, play with `play`) or ALSA's arecord/aplay, whichever is installed. */
function audioDevices(): AudioDevices | undefined {
  const sox = findProgram('sox');
  const arecord = findProgram('arecord');
  const recorder = sox
    ? { command: sox, args: ['-q', '-d', ...RAW_16K, '-'] }
    : arecord
      ? { command: arecord, args: ['-q', '-f', 'S16_LE', '-r', '16000', '-c', '1', '-t', 'raw'] }
      : undefined;
  if (recorder === undefined) return undefined;
  const play = findProgram('play');
  const aplay = findProgram('aplay');
  const player = play
    ? { command: play, args: ['-q', ...RAW_16K, '-'] }
    : aplay
      ? { command: aplay, args: ['-q', '-f', 'S16_LE', '-r', '16000', '-c', '1', '-t', 'raw'] }
      : undefined;

  let speakerProcess: ReturnType<typeof spawn> | undefined;
  const startSpeaker = () => {
    if (player === undefined) return undefined;
    const child = spawn(player.command, player.args, { stdio: ['pipe', 'ignore', 'ignore'] });
    child.on('error', () => undefined);
    child.stdin?.on('error', () => undefined);
    return child;
  };
  return {
    record(onAudio, onError) {
      const child = spawn(recorder.command, recorder.args, { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', (chunk: Buffer) => onAudio(new Uint8Array(chunk)));
      child.on('error', onError);
      child.on('exit', (code, signal) => {
        if (code !== 0 && signal === null) onError(new Error(`${recorder.command} exited with ${code}`));
      });
      return () => child.kill();
    },
    speaker: player && {
      write(pcm) {
        speakerProcess ??= startSpeaker();
        speakerProcess?.stdin?.write(pcm);
      },
      // A barge-in: whatever the player has buffered is dropped with it.
      flush() {
        speakerProcess?.kill();
        speakerProcess = undefined;
      },
      close() {
        speakerProcess?.stdin?.end();
        speakerProcess = undefined;
      },
    },
  };
}

async function main(): Promise<number> {
  const parsed = parseHarnessArgs(process.argv.slice(2), { HARNESS_TOKEN: process.env.HARNESS_TOKEN, HARNESS_URL: process.env.HARNESS_URL });
  if (!parsed.ok) {
    (parsed.help ? console.log : console.error)(parsed.message);
    return parsed.help ? 0 : EXIT_USAGE;
  }
  const args = parsed.args;

  let input: HarnessInput;
  if (args.mode === 'text') {
    if (process.stdin.isTTY) console.log('Type what the caller says; an empty line is skipped, Ctrl-D hangs up.');
    // The iterator is taken now, not when the call has started: readline drops lines (and the end of
    // a piped stdin) that arrive before anyone iterates.
    const lines = createInterface({ input: process.stdin, terminal: false })[Symbol.asyncIterator]();
    input = { kind: 'text', lines: { [Symbol.asyncIterator]: () => lines } };
  } else if (args.mode === 'wav') {
    let file: Uint8Array;
    try {
      file = new Uint8Array(await readFile(args.wavPath!));
    } catch (error) {
      console.error(`harness: cannot read ${args.wavPath}: ${(error as Error).message}`);
      return EXIT_USAGE;
    }
    try {
      // Checked before dialling: a file we cannot read should not cost a call.
      wavToHarnessAudio(file);
    } catch (error) {
      console.error(`harness: ${args.wavPath} is not a usable WAV file: ${(error as Error).message}`);
      return EXIT_USAGE;
    }
    input = { kind: 'wav', file };
  } else {
    const devices = audioDevices();
    if (devices === undefined) {
      console.error('harness: no microphone recorder found (install sox or alsa-utils), so use --text or --wav <file>.');
      return EXIT_USAGE;
    }
    if (devices.speaker === undefined) console.error('harness: no audio player found (sox play or aplay): the agent is shown, not heard.');
    console.log('Speak after the greeting; Ctrl-C hangs up.');
    input = { kind: 'mic', devices };
  }

  const hangup = new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  try {
    return await runHarness({
      url: args.url,
      token: args.token,
      callerNumber: args.callerNumber,
      input,
      timeoutMs: args.timeoutMs,
      writeRecording: args.outPath === undefined ? undefined : (wav) => writeFile(args.outPath!, wav),
      print: (line) => console.log(line),
      warn: (line) => console.error(line),
      hangup,
    });
  } catch (error) {
    console.error(`harness: ${(error as Error).message}`);
    return EXIT_CONNECTION;
  }
}

main().then(
  (code) => {
    process.exitCode = code;
    // stdin (readline) and stray timers must not keep a finished call's process alive.
    setImmediate(() => process.exit(code));
  },
  (error: unknown) => {
    console.error(error);
    process.exit(EXIT_CONNECTION);
  },
);
