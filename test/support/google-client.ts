/** The real Google Calendar provider pointed at the local emulator, as main.ts would build it. */
import { createGoogleCalendar } from '../../src/calendar/google.js';
import type { CalendarProvider } from '../../src/calendar/calendar.js';
import type { GoogleCalendarEmulator } from '../emulators/google-calendar.js';

export function googleCalendarFor(emulator: GoogleCalendarEmulator, timeZone: string, defaultBudgetMs?: number): CalendarProvider {
  return createGoogleCalendar({
    clientId: emulator.clientId,
    clientSecret: emulator.clientSecret,
    refreshToken: emulator.refreshToken,
    apiBaseUrl: emulator.rootUrl,
    tokenUri: emulator.tokenUrl,
    timeZone,
    ...(defaultBudgetMs === undefined ? {} : { defaultBudgetMs }),
  });
}
