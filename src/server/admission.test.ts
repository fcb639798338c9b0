import { describe, expect, it } from 'vitest';
import { bearerToken, createAdmission, isLoopbackAddress, isLoopbackHost, isSameOrigin } from './admission.js';
import type { AdmissionRequest } from './admission.js';

describe('isLoopbackAddress', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.12.34.56', true],
    ['127.255.255.255', true],
    ['::1', true],
    ['0:0:0:0:0:0:0:1', true],
    ['[::1]', true],
    ['::ffff:127.0.0.1', true],
    ['::FFFF:127.9.9.9', true],
    ['128.0.0.1', false],
    ['10.0.0.1', false],
    ['192.0.2.2', false],
    ['0.0.0.0', false],
    ['::', false],
    ['::2', false],
    ['fd00::1', false],
    ['::ffff:10.0.0.1', false],
    ['localhost', false],
    ['127.0.0.1.evil.example', false],
    ['', false],
    [undefined, false],
  ])('%s -> %s', (address, expected) => {
    expect(isLoopbackAddress(address)).toBe(expected);
  });
});

describe('isLoopbackHost', () => {
  it.each([
    ['localhost', true],
    ['LOCALHOST.', true],
    ['dev.localhost', true],
    ['127.0.0.1', true],
    ['::1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['agent.example.com', false],
    ['localhost.example.com', false],
    [undefined, false],
  ])('%s -> %s', (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});

describe('isSameOrigin', () => {
  it.each([
    [undefined, '127.0.0.1:8080', true],
    ['http://127.0.0.1:8080', '127.0.0.1:8080', true],
    ['https://agent.example.com', 'agent.example.com', true],
    ['https://agent.example.com', 'agent.example.com:443', true],
    ['http://Agent.Example.com:80', 'agent.example.com', true],
    ['http://[::1]:8080', '[::1]:8080', true],
    ['http://127.0.0.1:8081', '127.0.0.1:8080', false],
    ['https://evil.example.com', 'agent.example.com', false],
    ['http://agent.example.com.evil.example', 'agent.example.com', false],
    ['null', '127.0.0.1:8080', false],
    ['file://', '127.0.0.1:8080', false],
    ['chrome-extension://abcdef', '127.0.0.1:8080', false],
    ['http://127.0.0.1:8080', undefined, false],
  ])('Origin %s, Host %s -> %s', (origin, host, expected) => {
    const headers: Record<string, string> = {};
    if (origin !== undefined) headers.origin = origin;
    if (host !== undefined) headers.host = host;
    expect(isSameOrigin(headers)).toBe(expected);
  });
});

describe('bearerToken', () => {
  it.each([
    ['Bearer abc.def', 'abc.def'],
    ['bearer abc', 'abc'],
    ['Bearer  abc ', 'abc'],
    ['Basic abc', undefined],
    ['Bearer', undefined],
    ['Bearer a b', undefined],
    [undefined, undefined],
  ])('%s -> %s', (header, expected) => {
    expect(bearerToken(header === undefined ? {} : { authorization: header })).toBe(expected);
  });
});

describe('createAdmission', () => {
  const local: AdmissionRequest = { remoteAddress: '127.0.0.1', headers: { host: '127.0.0.1:8080' }, presentedToken: undefined };

  it('without a token admits local clients only', () => {
    const admission = createAdmission({ token: undefined });
    expect(admission.tokenRequired).toBe(false);
    expect(admission.check(local)).toEqual({ ok: true });
    expect(admission.check({ ...local, remoteAddress: '::ffff:127.0.0.1', headers: { host: 'localhost:8080' } })).toEqual({ ok: true });
    expect(admission.check({ ...local, headers: { host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080' } })).toEqual({ ok: true });
    const refused = (request: Partial<AdmissionRequest>) => admission.check({ ...local, ...request });
    expect(refused({ remoteAddress: '192.0.2.7' })).toMatchObject({ ok: false, reason: 'not_loopback' });
    expect(refused({ remoteAddress: undefined })).toMatchObject({ ok: false, reason: 'not_loopback' });
    // A token presented where none is configured changes nothing.
    expect(refused({ remoteAddress: '192.0.2.7', presentedToken: 'anything' })).toMatchObject({ ok: false, reason: 'not_loopback' });
    // DNS rebinding: a loopback peer that asked for another site's name.
    expect(refused({ headers: { host: 'evil.example:8080' } })).toMatchObject({ ok: false, reason: 'not_loopback' });
    // A tunnel or proxy on this machine relaying someone else.
    expect(refused({ headers: { host: 'localhost:8080', 'x-forwarded-for': '203.0.113.9' } })).toMatchObject({ ok: false, reason: 'not_loopback' });
    expect(refused({ headers: { host: 'localhost:8080', forwarded: 'for=203.0.113.9' } })).toMatchObject({ ok: false, reason: 'not_loopback' });
    expect(refused({ headers: { host: '127.0.0.1:8080', origin: 'https://evil.example' } })).toMatchObject({ ok: false, reason: 'foreign_origin' });
  });

  it('with a token admits whoever presents it, from anywhere, but never a foreign page', () => {
    const admission = createAdmission({ token: 'tok_0123456789' });
    expect(admission.tokenRequired).toBe(true);
    const remote = { remoteAddress: '192.0.2.7', headers: { host: 'agent.example.com' }, presentedToken: 'tok_0123456789' };
    expect(admission.check(remote)).toEqual({ ok: true });
    expect(admission.check({ ...remote, headers: { host: 'agent.example.com', 'x-forwarded-for': '203.0.113.9' } })).toEqual({ ok: true });
    expect(admission.check({ ...remote, presentedToken: 'tok_012345678' })).toMatchObject({ ok: false, reason: 'invalid_token' });
    expect(admission.check({ ...remote, presentedToken: undefined })).toMatchObject({ ok: false, reason: 'invalid_token' });
    // Loopback is no way around a configured token.
    expect(admission.check(local)).toMatchObject({ ok: false, reason: 'invalid_token' });
    expect(admission.check({ ...remote, headers: { host: 'agent.example.com', origin: 'https://evil.example' } })).toMatchObject({
      ok: false,
      reason: 'foreign_origin',
    });
  });
});
