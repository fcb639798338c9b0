import { describe, expect, it } from 'vitest';
import { deriveStreamTokenSecret, issueStreamToken, verifyStreamToken } from './stream-token.js';

const secret = deriveStreamTokenSecret('auth-token-0123456789');
const CALL = 'CA0123456789abcdef0123456789abcdef';
const NOW = Date.parse('2026-12-01T15:00:00Z');

describe('stream tokens', () => {
  const token = issueStreamToken({ secret, callSid: CALL, ttlSeconds: 300, now: NOW });

  it('verifies a token for its own call within its lifetime', () => {
    expect(verifyStreamToken({ secret, token, callSid: CALL, now: NOW })).toBe('ok');
    expect(verifyStreamToken({ secret, token, callSid: CALL, now: NOW + 299_000 })).toBe('ok');
  });

  it('is opaque: URL- and XML-safe, without the call SID or the auth token in it', () => {
    expect(token).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(token).not.toContain(CALL);
    expect(token).not.toContain('auth-token');
  });

  it('expires after its TTL', () => {
    expect(verifyStreamToken({ secret, token, callSid: CALL, now: NOW + 300_000 })).toBe('expired');
  });

  it("rejects another call's token", () => {
    const other = issueStreamToken({ secret, callSid: 'CAffffffffffffffffffffffffffffffff', ttlSeconds: 300, now: NOW });
    expect(verifyStreamToken({ secret, token: other, callSid: CALL, now: NOW })).toBe('invalid');
  });

  it('rejects forged and tampered tokens, even with an expiry in the past', () => {
    const [version, expiry, mac] = token.split('.') as [string, string, string];
    const later = `${version}.${Number(expiry) + 3600}.${mac}`;
    expect(verifyStreamToken({ secret, token: later, callSid: CALL, now: NOW })).toBe('invalid');
    const flipped = `${version}.${expiry}.${mac[0] === 'A' ? 'B' : 'A'}${mac.slice(1)}`;
    expect(verifyStreamToken({ secret, token: flipped, callSid: CALL, now: NOW })).toBe('invalid');
    const pastForged = `${version}.${Number(expiry) - 10_000}.${mac}`;
    expect(verifyStreamToken({ secret, token: pastForged, callSid: CALL, now: NOW })).toBe('invalid');
    const otherSecret = issueStreamToken({ secret: deriveStreamTokenSecret('another-token'), callSid: CALL, ttlSeconds: 300, now: NOW });
    expect(verifyStreamToken({ secret, token: otherSecret, callSid: CALL, now: NOW })).toBe('invalid');
  });

  it.each([undefined, '', 'garbage', 'v1..', 'v2.1.abc', `${'x'.repeat(10_000)}`])('rejects malformed token %#', (bad) => {
    expect(verifyStreamToken({ secret, token: bad, callSid: CALL, now: NOW })).toBe('invalid');
  });
});
