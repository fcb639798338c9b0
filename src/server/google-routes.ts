/**
 * Google's edge: `POST /google/calendar/notifications`, where Google Calendar announces changes to
 * a watched calendar (an empty POST, everything in X-Goog-* headers). The channel must be one of
 * ours and present its token; then the answer is an immediate 200 and the calendar is synced in
 * the background, never inside the request (Google wants a quick answer and retries 5xx).
 *
 *   unknown channel (or resource)  404, nothing changes
 *   known channel, wrong token     403, nothing changes
 *   X-Goog-Resource-State: sync    200, acknowledged only (the channel has just opened)
 *   anything else ('exists'...)    200, and the calendar is synced at once
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Logger } from '../observability/logger.js';
import type { NotificationVerdict } from '../scheduling/calendar-channels.js';

export const GOOGLE_CALENDAR_NOTIFICATIONS_PATH = '/google/calendar/notifications';

/** What the route needs from the calendar sync (which lives on the shop's side). */
export interface CalendarNotificationHandler {
  verifyNotification(notification: { channelId: string; token: string | undefined; resourceId: string | undefined }): Promise<NotificationVerdict>;
  changed(calendarId: string): void;
}

export interface GoogleRoutesDeps {
  /** Undefined when no calendar is followed (the local calendar): every notification is unknown. */
  notifications: CalendarNotificationHandler | undefined;
  logger: Logger;
}

/** The address Google is told to notify, or undefined when PUBLIC_URL is not https (Google requires it). */
export function calendarNotificationUrl(publicUrl: string | undefined): string | undefined {
  if (publicUrl === undefined) return undefined;
  try {
    const url = new URL(publicUrl);
    if (url.protocol !== 'https:') return undefined;
    return `https://${url.host}${url.pathname.replace(/\/+$/, '')}${GOOGLE_CALENDAR_NOTIFICATIONS_PATH}`;
  } catch {
    return undefined;
  }
}

export function googleRoutes(deps: GoogleRoutesDeps): FastifyPluginAsync {
  const log = deps.logger.child({ component: 'google_calendar_push' });
  return async (app) => {
    // Google's POST has no body. Whatever Content-Type comes with one, it is not parsed (this
    // plugin's scope only), so an empty "JSON" body cannot turn a notification into a 400.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { bodyLimit: 64 * 1024 }, (_request, payload, done) => {
      payload.resume();
      payload.on('end', () => done(null, undefined));
      payload.on('error', (error) => done(error, undefined));
    });

    app.post(GOOGLE_CALENDAR_NOTIFICATIONS_PATH, async (request, reply) => {
      const channelId = header(request, 'x-goog-channel-id');
      const state = header(request, 'x-goog-resource-state');
      if (channelId === undefined) {
        log.warn({ ip: request.ip }, 'calendar notification without X-Goog-Channel-ID refused');
        return reply.code(400).send({ error: 'missing X-Goog-Channel-ID' });
      }
      const shownId = channelId.slice(0, 80);
      const verdict: NotificationVerdict = deps.notifications === undefined
        ? { kind: 'unknown' }
        : await deps.notifications.verifyNotification({
            channelId,
            token: header(request, 'x-goog-channel-token'),
            resourceId: header(request, 'x-goog-resource-id'),
          });
      if (verdict.kind === 'unknown') {
        // Also what a channel replaced at renewal gets until it expires: not alarming on its own.
        log.warn({ channelId: shownId, ip: request.ip }, 'calendar notification for an unknown channel refused');
        return reply.code(404).send({ error: 'unknown channel' });
      }
      if (verdict.kind === 'forbidden') {
        log.warn({ channelId: shownId, ip: request.ip }, 'calendar notification with a wrong channel token refused');
        return reply.code(403).send({ error: 'wrong channel token' });
      }
      if (state !== 'sync') deps.notifications?.changed(verdict.calendarId);
      log.debug({ channelId: shownId, state, messageNumber: header(request, 'x-goog-message-number') }, 'calendar notification');
      return reply.code(200).send();
    });
  };
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? undefined : first;
}
