/** `npm run google:auth [-- --write-env]`: see google-auth.ts. */
import { loadGoogleOAuthClientFromProcess } from '../config.js';
import { openInBrowser } from './browser.js';
import { helpText, parseFlags, printLine, runCommand } from './cli.js';
import type { FlagSpec } from './cli.js';
import { runGoogleAuth } from './google-auth.js';

const FLAGS: Record<string, FlagSpec> = {
  'write-env': { type: 'boolean', description: 'write GOOGLE_REFRESH_TOKEN into the .env file instead of printing it' },
  'no-browser': { type: 'boolean', description: 'only print the consent URL (for a browser on another machine)' },
};

await runCommand(async () => {
  const flags = parseFlags(process.argv.slice(2), FLAGS);
  if (flags.help) {
    printLine(
      helpText(
        'npm run google:auth -- [--write-env] [--no-browser] [--dotenv <path>]',
        'Authorises the service desk on the shop\'s Google account (GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET\n' +
          'must be set) and lists the calendars it can use.',
        FLAGS,
      ),
    );
    return;
  }
  await runGoogleAuth({
    client: loadGoogleOAuthClientFromProcess(flags.envFile),
    print: printLine,
    ...(flags.values['no-browser'] === true ? {} : { openBrowser: (url: string) => openInBrowser(url) }),
    writeEnvFile: flags.values['write-env'] === true ? flags.envFile : undefined,
  });
});
