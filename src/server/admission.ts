/**
 * Who may start a call from outside the phone network: the harness socket today, the WebRTC offer
 * next. Such a caller can claim any callerNumber and so act as that verified customer, so:
 *
 *   - a browser request from another site (an `Origin` header that is not this server's own
 *     origin) is refused, token or not: a page elsewhere must not ride on a developer's access;
 *   - with a token configured, the request must present it (how is up to the route: a WebSocket
 *     subprotocol or `?token=` for the harness, `Authorization: Bearer` for an HTTP offer);
 *   - without one, only a local peer is let in: a loopback address, reached by a loopback host name
 *     (a DNS-rebinding page reaches 127.0.0.1 under its own name), and not relayed by a proxy or a
 *     tunnel (which would make every remote user look local).
 *
 * A request without `Origin` is not a browser (the CLI harness, curl); the token/loopback rule
 * alone decides for it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';

export type AdmissionRefusal = 'foreign_origin' | 'invalid_token' | 'not_loopback';

export type AdmissionResult = { ok: true } | { ok: false; reason: AdmissionRefusal; message: string };

export interface AdmissionRequest {
  /** The TCP peer (`request.socket.remoteAddress`), never a forwarded header. */
  remoteAddress: string | undefined;
  headers: IncomingHttpHeaders;
  /** The token the request carries, however the route reads it; undefined when none. */
  presentedToken: string | undefined;
}

export interface Admission {
  readonly tokenRequired: boolean;
  check(request: AdmissionRequest): AdmissionResult;
}

export function createAdmission(options: { token: string | undefined }): Admission {
  const expected = options.token === undefined || options.token === '' ? undefined : digest(options.token);
  return {
    tokenRequired: expected !== undefined,
    check(request) {
      if (!isSameOrigin(request.headers)) {
        return { ok: false, reason: 'foreign_origin', message: 'refused: a page from another origin may not open calls here' };
      }
      if (expected !== undefined) {
        const presented = request.presentedToken;
        if (presented !== undefined && timingSafeEqual(digest(presented), expected)) return { ok: true };
        return { ok: false, reason: 'invalid_token', message: 'unauthorized: a valid harness token is required' };
      }
      if (isLocalRequest(request)) return { ok: true };
      return {
        ok: false,
        reason: 'not_loopback',
        message: 'refused: without HARNESS_TOKEN only clients on this machine may open calls',
      };
    },
  };
}

/** 127.0.0.0/8, ::1, and their IPv4-mapped form (what a dual-stack socket reports). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  let value = address.trim().toLowerCase();
  if (value.startsWith('[') && value.endsWith(']')) value = value.slice(1, -1);
  if (value.startsWith('::ffff:') && isIP(value.slice(7)) === 4) value = value.slice(7);
  const kind = isIP(value);
  if (kind === 4) return value.split('.')[0] === '127';
  if (kind === 6) return expandIpv6(value) === '0000:0000:0000:0000:0000:0000:0000:0001';
  return false;
}

/** A host to listen on or a Host header's name that stays on this machine. */
export function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  const name = host.trim().toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost') || isLoopbackAddress(name);
}

/** True when there is no `Origin` (not a browser) or it is http(s) on the request's own Host. */
export function isSameOrigin(headers: IncomingHttpHeaders): boolean {
  const origin = headers.origin;
  if (origin === undefined) return true;
  const host = headers.host;
  if (host === undefined || host === '') return false;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return false;
  try {
    // Parsed under the Origin's scheme, so "host:80" and "host" compare equal over http.
    return new URL(`${parsed.protocol}//${host}`).host === parsed.host;
  } catch {
    return false;
  }
}

/** `Authorization: Bearer <token>`, for HTTP routes (the WebRTC offer). */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(headers.authorization ?? '');
  return match?.[1];
}

function isLocalRequest(request: AdmissionRequest): boolean {
  if (!isLoopbackAddress(request.remoteAddress)) return false;
  // A proxy or tunnel on this machine (ngrok, a reverse proxy) relays remote users from 127.0.0.1.
  if (request.headers.forwarded !== undefined || request.headers['x-forwarded-for'] !== undefined) return false;
  return isLoopbackHost(hostName(request.headers.host));
}

function hostName(host: string | undefined): string | undefined {
  if (host === undefined) return undefined;
  try {
    return new URL(`http://${host}`).hostname;
  } catch {
    return undefined;
  }
}

function expandIpv6(address: string): string {
  const [head = '', tail] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const middle = tail === undefined ? [] : Array.from({ length: 8 - left.length - right.length }, () => '0');
  return [...left, ...middle, ...right].map((part) => part.padStart(4, '0')).join(':');
}

function digest(value: string): Buffer {
  // Equal-length digests let timingSafeEqual compare tokens of any length.
  return createHash('sha256').update(value).digest();
}
