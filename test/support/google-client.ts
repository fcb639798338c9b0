/** Clients pointed at the local Google Calendar emulator. */
import { calendar as calendarApi } from '@googleapis/calendar';
import type { calendar_v3 } from '@googleapis/calendar';
import { OAuth2Client } from 'google-auth-library';
import { createGoogleCalendar } from '../../src/calendar/google.js';
import type { GoogleCalendar } from '../../src/calendar/google.js';
import type { GoogleCalendarEmulator } from '../emulators/google-calendar.js';

/**
 * The real Google Calendar provider pointed at the local emulator, as main.ts would build it;
 * `bays` lays out the service bays (GOOGLE_BAY_CALENDAR_IDS, or SERVICE_BAYS sharing the shop calendar).
 */
export function googleCalendarFor(
  emulator: GoogleCalendarEmulator,
  timeZone: string,
  defaultBudgetMs?: number,
  bays: { bayCalendarIds?: string[]; bays?: number } = {},
): GoogleCalendar {
  return createGoogleCalendar({
    clientId: emulator.clientId,
    clientSecret: emulator.clientSecret,
    refreshToken: emulator.refreshToken,
    apiBaseUrl: emulator.rootUrl,
    tokenUri: emulator.tokenUrl,
    timeZone,
    ...(defaultBudgetMs === undefined ? {} : { defaultBudgetMs }),
    ...bays,
  });
}

/**
 * The plain @googleapis/calendar client on the emulator, for the calls the provider does not make:
 * the emulator's wire format is checked against the real client, not against our reading of it.
 * Retries are off so a test sees every answer as it came.
 */
export function googleApiFor(emulator: GoogleCalendarEmulator): calendar_v3.Calendar {
  const auth = new OAuth2Client({
    clientId: emulator.clientId,
    clientSecret: emulator.clientSecret,
    endpoints: { oauth2TokenUrl: emulator.tokenUrl },
    transporterOptions: { retryConfig: { retry: 0, noResponseRetries: 0 } },
  });
  auth.setCredentials({ refresh_token: emulator.refreshToken });
  return calendarApi({ version: 'v3', auth, rootUrl: emulator.rootUrl, retry: false });
}
