/** `npm run doctor [-- --number +1…]`: see doctor/doctor.ts. Exit code 1 when any check fails. */
import { existsSync } from 'node:fs';
import { ConfigError, loadConfigFromProcess } from '../config.js';
import { normalizePhone } from '../core/phone.js';
import { helpText, parseFlags, printLine, runCommand, SetupError } from './cli.js';
import type { FlagSpec } from './cli.js';
import { runDoctor } from './doctor/doctor.js';
import { exitCodeOf, fail, formatReport } from './doctor/report.js';

const FLAGS: Record<string, FlagSpec> = {
  number: { type: 'string', description: 'the Twilio number whose webhook to check (default TWILIO_PHONE_NUMBER)' },
};

await runCommand(async () => {
  const flags = parseFlags(process.argv.slice(2), FLAGS);
  if (flags.help) {
    printLine(helpText('npm run doctor -- [--number +15551234567] [--dotenv <path>]', 'Checks every part of the configuration as the server would use it; exit code 1 when something fails.', FLAGS));
    return;
  }
  const given = flags.values.number;
  const phoneNumber = typeof given === 'string' ? normalizePhone(given) : undefined;
  if (typeof given === 'string' && phoneNumber === undefined) throw new SetupError(`--number ${given} is not a phone number (E.164, e.g. +15551234567)`);

  printLine(`Checking the configuration from ${existsSync(flags.envFile) ? `${flags.envFile} and ` : ''}the environment...`);
  let config;
  try {
    config = loadConfigFromProcess(flags.envFile);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // Nothing else can be checked as the server would: it would not start.
    const lines = error.problems.map((problem) => fail('configuration', problem, 'fix the variable; the server refuses to start like this'));
    for (const line of formatReport(lines, [])) printLine(line);
    return 1;
  }
  const lines = await runDoctor(config, { phoneNumber });
  for (const line of formatReport(lines, config.secrets)) printLine(line);
  return exitCodeOf(lines);
});
// A check that ran out of time may leave a socket behind; the report is out, so the process is done.
process.exit();
