/**
 * `npm run doctor`: every part of a deployment checked with the configuration exactly as the
 * server reads it (config.ts, .env included), all at once, each within a few seconds, one line
 * each. Nothing is written anywhere: calendar access is judged from the account's role, not by
 * writing an event.
 */
import type { Config } from '../../config.js';
import { harnessLine, publicUrlLine, twilioCheck } from './twilio-checks.js';
import { googleCheck } from './google-checks.js';
import { ok } from './report.js';
import type { CheckLine } from './report.js';
import { runChecks } from './run-checks.js';
import type { DoctorCheck } from './run-checks.js';
import { cacheCheck, databaseCheck } from './storage-checks.js';
import { deepgramCheck, elevenLabsCheck, openAiCheck } from './voice-checks.js';

export interface DoctorOptions {
  /** The Twilio number whose webhook is checked; default TWILIO_PHONE_NUMBER. */
  phoneNumber?: string | undefined;
  /** Per-check time limit (the embedded database gets longer: it takes seconds to start). */
  timeoutMs?: number;
}

export function doctorChecks(config: Config, options: DoctorOptions = {}): DoctorCheck[] {
  const settled = (line: CheckLine): DoctorCheck => ({ name: line.name, run: async () => [line] });
  return [
    databaseCheck(config.database, config.workers),
    cacheCheck(config.redisUrl),
    googleCheck(config.google),
    openAiCheck(config.openai),
    deepgramCheck(config.deepgram),
    elevenLabsCheck(config.elevenlabs),
    settled(publicUrlLine(config)),
    twilioCheck(config, options.phoneNumber),
    settled(harnessLine(config)),
  ];
}

/** The report's lines, the configuration's own first. */
export async function runDoctor(config: Config, options: DoctorOptions = {}): Promise<CheckLine[]> {
  const lines = await runChecks(doctorChecks(config, options), options.timeoutMs);
  return [ok('configuration', 'valid'), ...lines];
}
