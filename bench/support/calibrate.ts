/**
 * How fast this machine is right now, for comparing bench runs: on a shared virtual machine the
 * same code reads a quarter more CPU per call in one hour than in the next, so a run's figures
 * mean little without the machine's speed beside them. Two fixed workloads, timed in this
 * process while nothing else of the bench runs: a loop of integer arithmetic (the CPU itself) and
 * round trips over a loopback TCP connection (the kernel's socket path, where a call spends a
 * good part of its CPU). Each is the best of a few tries, so a passing hiccup does not count.
 */
import net from 'node:net';
import { once } from 'node:events';
import { log } from './stats.js';

export interface Calibration {
  /** One fixed loop of 20 million integer operations (ms; lower is faster). */
  cpuLoopMs: number;
  /** One 200-byte message there and back over loopback TCP (µs; lower is faster). */
  loopbackRoundTripUs: number;
}

const TRIES = 3;
const LOOP_ITERATIONS = 20_000_000;
const ROUND_TRIPS = 2_000;

export async function calibrate(): Promise<Calibration> {
  let cpuLoopMs = Infinity;
  let loopbackRoundTripUs = Infinity;
  for (let i = 0; i < TRIES; i++) {
    cpuLoopMs = Math.min(cpuLoopMs, cpuLoop());
    loopbackRoundTripUs = Math.min(loopbackRoundTripUs, await loopbackRoundTrips());
  }
  return { cpuLoopMs: Math.round(cpuLoopMs * 10) / 10, loopbackRoundTripUs: Math.round(loopbackRoundTripUs * 10) / 10 };
}

/** Calibrates, and says the result on stderr as a bench's first line. */
export async function calibrateAndSay(): Promise<Calibration> {
  const calibration = await calibrate();
  log(`machine: cpu loop ${calibration.cpuLoopMs} ms, loopback round trip ${calibration.loopbackRoundTripUs} µs`);
  return calibration;
}

/** Where the loop's result goes, so the loop cannot be optimised away. */
export let calibrationSink = 0;

function cpuLoop(): number {
  const start = performance.now();
  let x = 1;
  for (let i = 0; i < LOOP_ITERATIONS; i++) x = (Math.imul(x, 1_103_515_245) + 12_345) | 0;
  calibrationSink ^= x;
  return performance.now() - start;
}

/** Echoes each message back; the client sends the next one when the echo is in. */
async function loopbackRoundTrips(): Promise<number> {
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (data) => socket.write(data));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const client = net.connect(port, '127.0.0.1');
  client.setNoDelay(true);
  await once(client, 'connect');
  const message = Buffer.alloc(200, 7);
  const start = performance.now();
  await new Promise<void>((resolve) => {
    let received = 0;
    let trips = 0;
    client.on('data', (data) => {
      received += data.length;
      while (received >= message.length) {
        received -= message.length;
        trips += 1;
        if (trips === ROUND_TRIPS) {
          resolve();
          return;
        }
        client.write(message);
      }
    });
    client.write(message);
  });
  const elapsedUs = ((performance.now() - start) * 1000) / ROUND_TRIPS;
  client.destroy();
  server.close();
  return elapsedUs;
}
