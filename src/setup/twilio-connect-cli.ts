/** `npm run twilio:connect -- --number +1… [--dry-run]`: see twilio-connect.ts. */
import { loadConfigFromProcess } from '../config.js';
import { normalizePhone } from '../core/phone.js';
import { createTwilioAccountApi } from '../transports/twilio/account.js';
import { createTwilioRest } from '../transports/twilio/rest.js';
import { helpText, parseFlags, printLine, runCommand, SetupError } from './cli.js';
import type { FlagSpec } from './cli.js';
import { connectTwilioNumber, describeConnect } from './twilio-connect.js';

const FLAGS: Record<string, FlagSpec> = {
  number: { type: 'string', description: 'the Twilio number to wire, E.164 (default TWILIO_PHONE_NUMBER)' },
  'dry-run': { type: 'boolean', description: 'show what would change, change nothing' },
};

await runCommand(async () => {
  const flags = parseFlags(process.argv.slice(2), FLAGS);
  if (flags.help) {
    printLine(
      helpText(
        'npm run twilio:connect -- --number +15551234567 [--dry-run] [--dotenv <path>]',
        'Points the number\'s "A call comes in" webhook at POST <PUBLIC_URL>/twilio/voice, and says what it was.\n' +
          'Needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and an https PUBLIC_URL.',
        FLAGS,
      ),
    );
    return;
  }
  const config = loadConfigFromProcess(flags.envFile);
  const { accountSid, authToken, apiBaseUrl } = config.twilio;
  if (accountSid === undefined || authToken === undefined) {
    throw new SetupError('TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set (Twilio Console, Account info)');
  }
  const given = flags.values.number;
  const phoneNumber = typeof given === 'string' ? normalizePhone(given) : config.twilio.phoneNumber;
  if (phoneNumber === undefined) {
    throw new SetupError(
      typeof given === 'string' ? `--number ${given} is not a phone number (E.164, e.g. +15551234567)` : 'say which number: --number +15551234567 (or set TWILIO_PHONE_NUMBER)',
    );
  }
  const api = createTwilioAccountApi(createTwilioRest({ accountSid, authToken, apiBaseUrl, timeoutMs: 10_000 }));
  const report = await connectTwilioNumber({
    api,
    accountSid,
    phoneNumber,
    publicUrl: config.publicUrl,
    dryRun: flags.values['dry-run'] === true,
  });
  for (const line of describeConnect(report)) printLine(line);
  if (config.twilio.phoneNumber !== phoneNumber) {
    printLine(`Tip: set TWILIO_PHONE_NUMBER=${phoneNumber} so \`npm run doctor\` checks this number's webhook.`);
  }
});
