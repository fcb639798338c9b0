/**
 * How the server's peer connections find a path to the caller, from the environment's WebRTC
 * settings: STUN/TURN servers, the UDP port range, loopback, and a public address for a server
 * behind 1:1 NAT. Pure: settings in, werift configuration (and an SDP rewrite) out.
 */
import type { PeerConfig } from 'werift';

export interface WebRtcIceSettings {
  /** `stun:` / `turn:` / `turns:` URLs. */
  iceServers: readonly string[];
  turnUsername?: string | undefined;
  turnCredential?: string | undefined;
  /** Inclusive UDP port range for media; undefined: any ephemeral port. */
  portRange?: readonly [number, number] | undefined;
  /** The address callers reach this server at when it sits behind 1:1 NAT (a cloud VM's public IP). */
  publicIp?: string | undefined;
}

/** Seconds to wait for a STUN server's answer while gathering: an unreachable one must not stall the answer long. */
const STUN_GATHER_TIMEOUT_S = 3;

export function peerConfig(settings: WebRtcIceSettings): Partial<PeerConfig> {
  const iceServers = settings.iceServers.map((url) =>
    url.startsWith('turn')
      ? { urls: url, username: settings.turnUsername, credential: settings.turnCredential }
      : { urls: url },
  );
  return {
    iceServers,
    // werift leaves loopback out of its host candidates; a caller on the same machine (a developer,
    // a test) then never connects. LAN addresses are gathered as usual beside it.
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceUseIpv6: false,
    iceStunGatherTimeout: STUN_GATHER_TIMEOUT_S,
    ...(settings.portRange === undefined ? {} : { icePortRange: [settings.portRange[0], settings.portRange[1]] as [number, number] }),
  };
}

/**
 * Behind 1:1 NAT the server only knows its private address; callers must be told the public one.
 * Every non-loopback IPv4 host candidate gets a twin on `publicIp` with the same port (1:1 NAT keeps
 * ports), at a slightly lower priority so a caller on the same LAN still prefers the direct path.
 */
export function advertisePublicIp(sdp: string, publicIp: string): string {
  const lines = sdp.split('\r\n');
  const out: string[] = [];
  for (const line of lines) {
    out.push(line);
    const match = /^a=candidate:(\S+) (\d+) (udp|tcp) (\d+) (\d+\.\d+\.\d+\.\d+) (\d+) typ host(.*)$/i.exec(line);
    if (match === null) continue;
    const [, foundation, component, protocol, priority, address, port, rest] = match;
    if (address!.startsWith('127.') || address === publicIp) continue;
    out.push(`a=candidate:${foundation}n ${component} ${protocol} ${Number(priority) - 1} ${publicIp} ${port} typ host${rest}`);
  }
  return out.join('\r\n');
}
