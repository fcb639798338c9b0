/**
 * Google Calendar as the server uses it: the refresh token still yields an access token (at the
 * configured token endpoint, with the configured client), every configured calendar is in the
 * account's list with writer or owner access (calendarList.get: no write needed to know), and a
 * free/busy query over them all answers.
 */
import type { calendar_v3 } from '@googleapis/calendar';
import type { OAuth2Client } from 'google-auth-library';
import { describeGoogleError, googleCalendarApi, googleOAuthClient } from '../../calendar/google.js';
import type { GoogleCalendarConfig } from '../../config.js';
import { fail, ok, skip } from './report.js';
import type { CheckLine } from './report.js';
import type { DoctorCheck } from './run-checks.js';

const REAUTHORISE = 'run npm run google:auth -- --write-env, then restart the server';

/** The calendars the server writes to: the shop-wide one and, where configured, one per bay. */
export function configuredCalendarIds(google: GoogleCalendarConfig): string[] {
  return [...new Set([google.calendarId, ...google.bayCalendarIds])];
}

export function googleCheck(google: GoogleCalendarConfig | undefined): DoctorCheck {
  return {
    name: 'google token',
    async run(signal) {
      if (google === undefined) return [skip('google calendar', 'GOOGLE_* not set: bookings go to the local calendar (the database)')];
      const auth = googleOAuthClient(google);
      // Token requests take no signal of their own: give them the check's.
      auth.transporter.interceptors.request.add({
        resolved: async (config) => {
          config.signal ??= signal;
          return config;
        },
      });
      const ids = configuredCalendarIds(google);

      const token = await refreshLine(auth);
      if (token.status !== 'ok') {
        return [token, ...ids.map((id) => skip(`calendar ${id}`, 'not checked: needs a working refresh token'))];
      }
      const api = googleCalendarApi(auth, google.apiBaseUrl);
      const [calendars, freeBusy] = await Promise.all([
        Promise.all(ids.map((id) => calendarLine(api, id, signal))),
        freeBusyLine(api, ids, signal),
      ]);
      return [token, ...calendars, freeBusy];
    },
  };
}

async function refreshLine(auth: OAuth2Client): Promise<CheckLine> {
  const name = 'google token';
  try {
    await auth.getAccessToken();
    return ok(name, 'the refresh token yields access tokens');
  } catch (error) {
    const why = describeGoogleError(error);
    if (why.status === undefined) return fail(name, `token endpoint unreachable (${why.network ?? (why.timedOut ? 'timed out' : 'network error')})`, 'check GOOGLE_TOKEN_URI and the network');
    const said = `${why.reason ?? `HTTP ${why.status}`}${why.detail ? `: ${why.detail}` : ''}`;
    if (why.reason === 'invalid_grant') return fail(name, `Google refused the refresh token (${said}): revoked, expired or issued to another client`, REAUTHORISE);
    if (why.reason === 'invalid_client' || why.reason === 'unauthorized_client') {
      return fail(name, `Google refused the OAuth client (${said})`, 'check GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET (the client the refresh token was issued to)');
    }
    return fail(name, `token refresh failed (${said})`);
  }
}

async function calendarLine(api: calendar_v3.Calendar, id: string, signal: AbortSignal): Promise<CheckLine> {
  const name = `calendar ${id}`;
  try {
    const { data } = await api.calendarList.get({ calendarId: id }, { signal, retry: false });
    const role = data.accessRole ?? 'unknown';
    const label = `"${data.summary ?? ''}"${data.id && data.id !== id ? ` (${data.id})` : ''}`;
    if (role === 'owner' || role === 'writer') return ok(name, `${label}, ${role} access: readable and writable`);
    return fail(name, `${label} is ${role} only: the agent could not book into it`, 'share it with the account with "Make changes to events" (or pick a writable one)');
  } catch (error) {
    const why = describeGoogleError(error);
    if (why.status === 404) {
      return fail(name, 'not in this account\'s calendar list', 'check the id (npm run google:auth lists the calendars), or share the calendar with the account');
    }
    return fail(name, `could not be read (${googleProblem(why)})`);
  }
}

async function freeBusyLine(api: calendar_v3.Calendar, ids: string[], signal: AbortSignal): Promise<CheckLine> {
  const name = 'google free/busy';
  const now = Date.now();
  try {
    const { data } = await api.freebusy.query(
      {
        requestBody: {
          timeMin: new Date(now).toISOString(),
          timeMax: new Date(now + 24 * 3_600_000).toISOString(),
          items: ids.map((id) => ({ id })),
        },
      },
      { signal, retry: false },
    );
    const failing = ids.flatMap((id) => {
      const errors = data.calendars?.[id]?.errors ?? [];
      return errors.length === 0 ? [] : [`${id}: ${errors.map((e) => e.reason ?? 'error').join(', ')}`];
    });
    if (failing.length > 0) return fail(name, `answered with errors (${failing.join('; ')})`, 'the account needs at least free/busy access to every calendar');
    return ok(name, `answers for ${ids.length} calendar${ids.length === 1 ? '' : 's'}`);
  } catch (error) {
    return fail(name, `query failed (${googleProblem(describeGoogleError(error))})`);
  }
}

function googleProblem(why: ReturnType<typeof describeGoogleError>): string {
  if (why.status === undefined) return why.network ?? (why.timedOut ? 'timed out' : 'network error');
  return `HTTP ${why.status}${why.reason ? ` ${why.reason}` : ''}${why.detail ? `: ${why.detail}` : ''}`;
}
