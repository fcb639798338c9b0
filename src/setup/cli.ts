/**
 * Plumbing shared by the setup commands (google:auth, twilio:connect, doctor): flags, help, and
 * failures as one clear line on stderr with exit code 1, never a stack.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../config.js';

/** A failure the operator can act on; its message is one line, safe to print. */
export class SetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SetupError';
  }
}

export interface FlagSpec {
  type: 'boolean' | 'string';
  description: string;
}

/** Every command takes --dotenv (where .env is read from, and written to) and --help. */
const COMMON_FLAGS: Record<string, FlagSpec> = {
  dotenv: { type: 'string', description: 'the .env file to read (default .env in the current directory)' },
  help: { type: 'boolean', description: 'show this help' },
};

export interface ParsedFlags {
  envFile: string;
  help: boolean;
  values: Record<string, string | boolean | undefined>;
}

export function parseFlags(argv: readonly string[], flags: Record<string, FlagSpec>): ParsedFlags {
  const all = { ...flags, ...COMMON_FLAGS };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: Object.fromEntries(Object.entries(all).map(([name, spec]) => [name, { type: spec.type }])),
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    // node:util's messages are one line and name the flag; its error code prefix is noise here.
    throw new SetupError(`${(error as Error).message.replace(/\. To specify.*$/, '')} (see --help)`);
  }
  const envFile = values.dotenv;
  return { envFile: typeof envFile === 'string' && envFile !== '' ? envFile : '.env', help: values.help === true, values };
}

export function helpText(usage: string, summary: string, flags: Record<string, FlagSpec>): string {
  const all = { ...flags, ...COMMON_FLAGS };
  const width = Math.max(...Object.entries(all).map(([name, spec]) => name.length + (spec.type === 'string' ? 8 : 0)));
  const lines = Object.entries(all).map(([name, spec]) => {
    const label = `--${name}${spec.type === 'string' ? ' <value>' : ''}`;
    return `  ${label.padEnd(width + 4)}${spec.description}`;
  });
  return [`usage: ${usage}`, '', summary, '', ...lines, ''].join('\n');
}

/**
 * Runs a command's main and sets the exit code: its own (0 when it returns nothing), or 1 with one
 * line on stderr when it throws. Configuration problems print as the server prints them.
 */
export async function runCommand(main: () => Promise<number | void>): Promise<void> {
  try {
    process.exitCode = (await main()) ?? 0;
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
    } else if (error instanceof SetupError) {
      process.stderr.write(`error: ${error.message}\n`);
    } else {
      // Not ours: its message may be anything, so only its kind is shown.
      process.stderr.write(`error: unexpected ${error instanceof Error ? error.name : typeof error} (details withheld: they may hold credentials)\n`);
    }
    process.exitCode = 1;
  }
}

/** Writes lines to stdout (the commands' report goes there; errors go to stderr). */
export function printLine(line: string): void {
  process.stdout.write(`${line}\n`);
}
