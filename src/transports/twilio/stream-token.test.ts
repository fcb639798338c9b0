import { describe, expect, it } from 'vitest';
import { deriveStreamTokenSecret, issueStreamToken, streamTokenUse, verifyStreamToken } from './stream-token.js';

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

describe('stream token use (what the single-use ledger keeps)', () => {
  const token = issueStreamToken({ secret, callSid: CALL, ttlSeconds: 300, now: NOW });

  it('is a digest of the token, never the token or its MAC, with the token’s expiry', () => {
    const use = streamTokenUse(token);
    expect(use.expiresAt.getTime()).toBe(NOW + 300_000);
    expect(use.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(token).not.toContain(use.id);
    expect(use.id).not.toBe(token.split('.')[2]);
  });

  it('tells two tokens of one call apart, and gives one token the same id every time', () => {
    const later = issueStreamToken({ secret, callSid: CALL, ttlSeconds: 300, now: NOW + 1_000 });
    expect(streamTokenUse(later).id).not.toBe(streamTokenUse(token).id);
    expect(streamTokenUse(token).id).toBe(streamTokenUse(token).id);
  });

  it('refuses what is not a token', () => {
    expect(() => streamTokenUse('garbage')).toThrow('not a stream token');
  });
});
