/**
 * Per-frame cost of the audio hot path, in this process (no I/O):
 *   inbound  = a Twilio media JSON message -> decodeTwilioMessage (JSON.parse, checks, base64 decode
 *              into Buffer's pool) -> the mu-law frame as handed to the STT, as is;
 *   outbound = a TTS audio chunk -> encodeTwilioFrame (base64, JSON media message), plus its mark;
 *   codecs   = mu-law decode/encode of one 20 ms frame (160 samples) with ours (the *Into variants)
 *              and with alawmulaw as the reference.
 *
 *   tsx bench/hot-path.ts [--runs 9] [--iterations 200000]
 *
 * Reports ns/frame (median of the runs, each run timing `iterations` frames after a warm-up) and
 * frames/s on one core.
 */
import alawmulaw from 'alawmulaw';
import { mulawToPcm16Into, pcm16ToMulawInto } from '../src/audio/mulaw.js';
import { PHONE_AUDIO } from '../src/core/frames.js';
import { decodeBase64, decodeTwilioMessage, encodeTwilioFrame } from '../src/transports/twilio/serializer.js';
import { speechLike } from '../test/support/audio-fixtures.js';
import { argNumber, log, machine, round } from './support/stats.js';

const runs = argNumber('runs', 9);
const iterations = argNumber('iterations', 200_000);

const STREAM_SID = `MZ${'0123456789abcdef'.repeat(2)}`;
const frameBytes = speechLike(20, PHONE_AUDIO); // 160 mu-law bytes of voice-like audio
const pcmFrame = new Int16Array(160);
mulawToPcm16Into(frameBytes, pcmFrame);
/** What Twilio sends for 20 ms of caller audio (the fields and order of its docs). */
const inboundMessages = Array.from({ length: 64 }, (_, i) =>
  JSON.stringify({
    event: 'media',
    sequenceNumber: String(1000 + i),
    media: { track: 'inbound', chunk: String(999 + i), timestamp: String(i * 20), payload: Buffer.from(frameBytes).toString('base64') },
    streamSid: STREAM_SID,
  }),
);
const PAYLOAD = Buffer.from(frameBytes).toString('base64');
const inboundBuffers = inboundMessages.map((m) => Buffer.from(m)); // ws hands the route a Buffer

let sink = 0;
function consume(value: unknown): void {
  if (typeof value === 'string') sink += value.length;
  else if (value instanceof Uint8Array || value instanceof Int16Array) sink += value[0] ?? 0;
  else if (typeof value === 'boolean') sink += value ? 1 : 0;
  else if (value !== null && typeof value === 'object') sink += 1;
}

function time(name: string, fn: (i: number) => void): { name: string; nsPerFrame: number; framesPerSecond: number; runsNs: number[] } {
  for (let i = 0; i < Math.min(iterations, 50_000); i++) fn(i); // warm-up: let the JIT settle
  const perRun: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn(i);
    perRun.push(Number(process.hrtime.bigint() - t0) / iterations);
  }
  const sorted = [...perRun].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  log(`${name}: ${median.toFixed(1)} ns/frame`);
  return { name, nsPerFrame: round(median, 1)!, framesPerSecond: Math.round(1e9 / median), runsNs: perRun.map((v) => round(v, 1)!) };
}

const state = { streamSid: STREAM_SID as string | undefined };
const pcmOut = new Int16Array(160);
const mulawOut = new Uint8Array(160);

const results = [
  time('inbound: decodeTwilioMessage(Buffer) -> audio frame', (i) => {
    consume(decodeTwilioMessage(inboundBuffers[i & 63]!, state, i).frame);
  }),
  time('inbound: decodeTwilioMessage(string) -> audio frame', (i) => {
    consume(decodeTwilioMessage(inboundMessages[i & 63]!, state, i).frame);
  }),
  time('inbound parts: JSON.parse only', (i) => {
    consume(JSON.parse(inboundMessages[i & 63]!));
  }),
  time('inbound parts: base64 decode only (Buffer.from)', () => {
    consume(Buffer.from(PAYLOAD, 'base64'));
  }),
  time('inbound parts: base64 decode, checked by length, copied out of the pool (before)', () => {
    const decoded = Buffer.from(PAYLOAD, 'base64');
    consume(decoded.length === 160 ? new Uint8Array(decoded) : undefined);
  }),
  time('inbound parts: base64 decode, checked by length, a view into the pool (the serializer\'s way)', () => {
    consume(decodeBase64(PAYLOAD));
  }),
  time('outbound: encodeTwilioFrame(audio 160 B) -> media JSON', () => {
    consume(encodeTwilioFrame({ kind: 'audio', audio: frameBytes }, STREAM_SID));
  }),
  time('outbound: audio + its mark (what speech-output sends per chunk)', (i) => {
    consume(encodeTwilioFrame({ kind: 'audio', audio: frameBytes }, STREAM_SID));
    consume(encodeTwilioFrame({ kind: 'mark', name: `u1.${i}` }, STREAM_SID));
  }),
  time('codec: ours mulawToPcm16Into (160 samples)', () => {
    mulawToPcm16Into(frameBytes, pcmOut);
    consume(pcmOut);
  }),
  time('codec: alawmulaw mulaw.decode (160 samples)', () => {
    consume(alawmulaw.mulaw.decode(frameBytes));
  }),
  time('codec: ours pcm16ToMulawInto (160 samples)', () => {
    pcm16ToMulawInto(pcmFrame, mulawOut);
    consume(mulawOut);
  }),
  time('codec: alawmulaw mulaw.encode (160 samples)', () => {
    consume(alawmulaw.mulaw.encode(pcmFrame));
  }),
];

// Correctness cross-check, so the comparison is like for like.
const refDecoded = alawmulaw.mulaw.decode(frameBytes);
const ourDecoded = new Int16Array(160);
mulawToPcm16Into(frameBytes, ourDecoded);
const refEncoded = alawmulaw.mulaw.encode(pcmFrame);
const ourEncoded = new Uint8Array(160);
pcm16ToMulawInto(pcmFrame, ourEncoded);

process.stdout.write(
  `${JSON.stringify(
    {
      bench: 'hot-path',
      runs,
      iterationsPerRun: iterations,
      frame: '20 ms, mu-law 8 kHz (160 bytes); inbound message as Twilio sends it',
      results: Object.fromEntries(results.map((r) => [r.name, { nsPerFrame: r.nsPerFrame, framesPerSecond: r.framesPerSecond, runsNs: r.runsNs }])),
      perCallBudget: {
        note: 'one call = 50 inbound + 50 outbound frames per second; share of one core spent here per call',
        inboundPlusOutboundPercentOfCorePerCall: round(((results[0]!.nsPerFrame + results[6]!.nsPerFrame) * 50) / 1e7, 4),
      },
      matchesReference: {
        decode: refDecoded.every((v, i) => v === ourDecoded[i]),
        encode: refEncoded.every((v, i) => v === ourEncoded[i]),
      },
      sink: sink > 0,
      machine: machine(),
    },
    null,
    2,
  )}\n`,
);
