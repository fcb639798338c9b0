import { describe, expect, it } from 'vitest';
import { SetupError } from './cli.js';
import { formatCalendars, readRedirect } from './google-auth.js';

const STATE = 'state-of-this-run-0123456789';
const redirect = (query: string) => new URL(`http://127.0.0.1:5555/oauth2callback?${query}`);

describe('readRedirect', () => {
  it('takes the code of a redirect that brings back this run\'s state', () => {
    expect(readRedirect(redirect(`state=${STATE}&code=4/0Acode&scope=x`), STATE)).toEqual({ code: '4/0Acode' });
  });

  it.each([
    ['a refusal', `state=${STATE}&error=access_denied`, /access was denied on Google's consent screen.*choose Allow/],
    ['another error, named but not echoed beyond a word', `state=${STATE}&error=server_error<script>`, /error=server_errorscript; nothing was saved$/],
    ['a missing state', 'code=4/0Acode', /does not carry this run's state/],
    ['another run\'s state', 'state=someone-else&code=4/0Acode', /does not carry this run's state/],
    ['a refusal with a wrong state (the state is checked first)', 'state=x&error=access_denied', /does not carry this run's state/],
    ['no code', `state=${STATE}`, /carries no authorization code/],
  ])('refuses %s with a one-line SetupError', (_case, query, message) => {
    let thrown: unknown;
    try {
      readRedirect(redirect(query), STATE);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SetupError);
    expect((thrown as Error).message).toMatch(message);
    expect((thrown as Error).message).not.toContain('\n');
  });
});

describe('formatCalendars', () => {
  it('lines up id, access and name, flags read-only calendars, and says what to set next', () => {
    const lines = formatCalendars([
      { id: 'shop@example.com', summary: 'Shop', accessRole: 'owner', primary: true },
      { id: 'c_long_bay_id@group.calendar.google.com', summary: 'Bay 1', accessRole: 'writer', primary: false },
      { id: 'holidays@example.com', summary: 'Holidays', accessRole: 'reader', primary: false },
    ]);
    expect(lines.slice(2, 6)).toEqual([
      '  id                                       access  name',
      '  shop@example.com                         owner   Shop (primary)',
      '  c_long_bay_id@group.calendar.google.com  writer  Bay 1',
      '  holidays@example.com                     reader  Holidays  <- read-only: the agent cannot book here',
    ]);
    expect(lines.join(' ')).toMatch(/GOOGLE_CALENDAR_ID.*GOOGLE_BAY_CALENDAR_IDS.*npm run doctor/);
  });

  it('says what to do when the account lists no calendar', () => {
    expect(formatCalendars([])).toEqual([expect.stringContaining('no calendars')]);
  });
});
