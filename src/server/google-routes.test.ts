import { describe, expect, it } from 'vitest';
import { calendarNotificationUrl } from './google-routes.js';

describe('calendarNotificationUrl', () => {
  it.each([
    ['https://agent.example.com', 'https://agent.example.com/google/calendar/notifications'],
    ['https://agent.example.com/', 'https://agent.example.com/google/calendar/notifications'],
    ['https://example.com:8443/shop/', 'https://example.com:8443/shop/google/calendar/notifications'],
  ])('builds the notification address on an https PUBLIC_URL (%s)', (publicUrl, expected) => {
    expect(calendarNotificationUrl(publicUrl)).toBe(expected);
  });

  it.each([undefined, 'http://agent.example.com', 'http://127.0.0.1:8080', 'not a url'])(
    'gives none without an https PUBLIC_URL (%s): Google notifies https addresses only',
    (publicUrl) => {
      expect(calendarNotificationUrl(publicUrl)).toBeUndefined();
    },
  );
});
