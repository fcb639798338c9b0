import { describe, expect, it } from 'vitest';
import { advertisePublicIp, peerConfig } from './ice-settings.js';

describe('peer configuration from the WebRTC settings', () => {
  it('adds loopback, TURN credentials to turn: servers only, and the port range', () => {
    const config = peerConfig({
      iceServers: ['stun:stun.example.net:3478', 'turn:turn.example.net:3478?transport=udp'],
      turnUsername: 'user',
      turnCredential: 'secret',
      portRange: [40000, 40100],
    });
    expect(config.iceAdditionalHostAddresses).toEqual(['127.0.0.1']);
    expect(config.iceServers).toEqual([
      { urls: 'stun:stun.example.net:3478' },
      { urls: 'turn:turn.example.net:3478?transport=udp', username: 'user', credential: 'secret' },
    ]);
    expect(config.icePortRange).toEqual([40000, 40100]);
  });

  it('needs nothing to work on loopback and a LAN', () => {
    const config = peerConfig({ iceServers: [] });
    expect(config.iceServers).toEqual([]);
    expect(config.icePortRange).toBeUndefined();
  });
});

describe('public address behind 1:1 NAT', () => {
  const sdp = [
    'v=0',
    'a=candidate:abc 1 udp 2116026367 127.0.0.1 59952 typ host generation 0 ufrag 773c',
    'a=candidate:def 1 udp 2116026367 10.0.0.5 32802 typ host generation 0 ufrag 773c',
    'a=end-of-candidates',
    '',
  ].join('\r\n');

  it('gives every private host candidate a public twin on the same port, loopback left alone', () => {
    const lines = advertisePublicIp(sdp, '203.0.113.7').split('\r\n');
    expect(lines).toContain('a=candidate:defn 1 udp 2116026366 203.0.113.7 32802 typ host generation 0 ufrag 773c');
    expect(lines.filter((l) => l.includes('203.0.113.7'))).toHaveLength(1);
    expect(lines).toContain('a=candidate:def 1 udp 2116026367 10.0.0.5 32802 typ host generation 0 ufrag 773c');
    expect(lines.at(-2)).toBe('a=end-of-candidates');
  });
});
