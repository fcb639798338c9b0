/**
 * A real TURN server for tests: coturn's `turnserver` (Debian's coturn package; .ci/run installs
 * it) on loopback, long-term credentials, UDP only, relaying between loopback addresses. Its log
 * says who allocated a relay, which is how a test knows a peer really used its TURN settings.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';

const TURNSERVER = '/usr/bin/turnserver';

export const turnServerInstalled = (): boolean => existsSync(TURNSERVER);

export interface TurnServer {
  /** `turn:127.0.0.1:PORT` */
  url: string;
  /** Usernames that were granted a relay (an Allocate that succeeded), in order. */
  allocatedBy(): string[];
  stop(): Promise<void>;
}

/** A UDP port nobody holds now. */
async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

export async function startTurnServer(users: Record<string, string>): Promise<TurnServer> {
  const port = await freeUdpPort();
  const relayFrom = 20_000 + Math.floor(Math.random() * 20_000);
  const args = [
    '-n',
    '--listening-ip=127.0.0.1',
    '--relay-ip=127.0.0.1',
    `--listening-port=${port}`,
    `--min-port=${relayFrom}`,
    `--max-port=${relayFrom + 200}`,
    '--lt-cred-mech',
    ...Object.entries(users).map(([name, password]) => `--user=${name}:${password}`),
    '--realm=agent.test',
    '--no-tls',
    '--no-dtls',
    '--no-tcp',
    '--allow-loopback-peers',
    '--no-cli',
    '--log-file=stdout',
    '--simple-log',
    '--verbose',
  ];
  const child: ChildProcess = spawn(TURNSERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  // Ready once its UDP listener is open on our port.
  while (!log.includes(`UDP listener opened on: 127.0.0.1:${port}`)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`turnserver did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `turn:127.0.0.1:${port}`,
    allocatedBy: () => [...log.matchAll(/user <([^>]+)>: incoming packet ALLOCATE processed, success/g)].map((m) => m[1]!),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
