/** The CLI harness's command line: `npm run harness -- [--text | --wav in.wav [--out out.wav]] [options]`. */

export const HARNESS_USAGE = `Usage: npm run harness -- [mode] [options]

Modes (default: microphone through sox or arecord):
  --text                 type turns on stdin; the conversation is printed
  --wav <in.wav>         stream a WAV file in real time (any rate; sent as 16 kHz mono PCM16)

Options:
  --out <out.wav>        write the agent's audio to a WAV file
  --url <url>            server or socket URL (default ws://localhost:8080/harness/ws)
  --caller <number>      caller number to present (default +15551230001)
  --token <token>        harness token (default: the HARNESS_TOKEN environment variable)
  --timeout <seconds>    give up after this long (default 120 typed, 60 WAV, 600 microphone)
  --help                 this text`;

export const DEFAULT_URL = 'ws://localhost:8080/harness/ws';
export const DEFAULT_CALLER = '+15551230001';

export interface HarnessArgs {
  mode: 'text' | 'wav' | 'mic';
  wavPath: string | undefined;
  outPath: string | undefined;
  url: string;
  callerNumber: string;
  token: string | undefined;
  timeoutMs: number;
}

export type ParsedArgs = { ok: true; args: HarnessArgs } | { ok: false; message: string; help?: boolean };

export function parseHarnessArgs(argv: readonly string[], env: { HARNESS_TOKEN?: string | undefined; HARNESS_URL?: string | undefined }): ParsedArgs {
  let mode: HarnessArgs['mode'] = 'mic';
  let wavPath: string | undefined;
  let outPath: string | undefined;
  let url = env.HARNESS_URL ?? DEFAULT_URL;
  let callerNumber = DEFAULT_CALLER;
  let token = env.HARNESS_TOKEN === '' ? undefined : env.HARNESS_TOKEN;
  let timeoutSeconds: number | undefined;
  let modeFlags = 0;

  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string | undefined => {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) return undefined;
      i += 1;
      return next;
    };
    switch (flag) {
      case '--help':
      case '-h':
        return { ok: false, message: HARNESS_USAGE, help: true };
      case '--text':
        mode = 'text';
        modeFlags += 1;
        break;
      case '--wav': {
        wavPath = value();
        if (wavPath === undefined) return { ok: false, message: '--wav needs a file: --wav in.wav' };
        mode = 'wav';
        modeFlags += 1;
        break;
      }
      case '--out':
        outPath = value();
        if (outPath === undefined) return { ok: false, message: '--out needs a file: --out out.wav' };
        break;
      case '--url': {
        const given = value();
        if (given === undefined) return { ok: false, message: '--url needs a URL' };
        try {
          const parsed = new URL(given);
          if (!['ws:', 'wss:', 'http:', 'https:'].includes(parsed.protocol)) throw new Error('scheme');
        } catch {
          return { ok: false, message: `--url ${given} is not a ws://, wss://, http:// or https:// URL` };
        }
        url = given;
        break;
      }
      case '--caller': {
        const given = value();
        if (given === undefined || !/^\+?[0-9\s().-]{3,32}$/.test(given)) return { ok: false, message: '--caller needs a phone number, e.g. +15551230001' };
        callerNumber = given;
        break;
      }
      case '--token':
        token = value();
        if (token === undefined) return { ok: false, message: '--token needs a value' };
        break;
      case '--timeout': {
        const given = Number(value());
        if (!Number.isFinite(given) || given <= 0) return { ok: false, message: '--timeout needs a number of seconds' };
        timeoutSeconds = given;
        break;
      }
      default:
        return { ok: false, message: `unknown option ${flag}\n\n${HARNESS_USAGE}` };
    }
  }
  if (modeFlags > 1) return { ok: false, message: 'choose one of --text and --wav' };
  const defaultTimeout = mode === 'text' ? 120 : mode === 'wav' ? 60 : 600;
  return {
    ok: true,
    args: { mode, wavPath, outPath, url, callerNumber, token, timeoutMs: Math.round((timeoutSeconds ?? defaultTimeout) * 1000) },
  };
}
