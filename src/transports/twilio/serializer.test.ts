import { describe, expect, it } from 'vitest';
import { decodeTwilioMessage, encodeTwilioFrame, MAX_TWILIO_MESSAGE_BYTES } from './serializer.js';
import type { TwilioStreamState } from './serializer.js';

const STREAM = 'MZ18ad3ab5a668481ce02b83e7395059f0';
const CALL = 'CA2a6e1b0b36bc4e54bb1d5d8a2b1a0e77';
const before: TwilioStreamState = { streamSid: undefined };
const started: TwilioStreamState = { streamSid: STREAM };

// Shapes as in https://www.twilio.com/docs/voice/media-streams/websocket-messages
const startMessage = (overrides: Record<string, unknown> = {}) => ({
  event: 'start',
  sequenceNumber: '1',
  start: {
    accountSid: 'AC0123456789abcdef0123456789abcdef',
    streamSid: STREAM,
    callSid: CALL,
    tracks: ['inbound'],
    mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
    customParameters: { callerNumber: '+15551230000', token: 'v1.2.x' },
    ...overrides,
  },
  streamSid: STREAM,
});
const media = (payload: unknown, track: unknown = 'inbound') => ({
  event: 'media',
  sequenceNumber: '3',
  media: { track, chunk: '1', timestamp: '5', payload },
  streamSid: STREAM,
});
const decode = (message: unknown, state = started, arrivedAtMs = 0) =>
  decodeTwilioMessage(typeof message === 'string' ? message : JSON.stringify(message), state, arrivedAtMs);

describe('decodeTwilioMessage', () => {
  it('ignores connected', () => {
    expect(decode({ event: 'connected', protocol: 'Call', version: '1.0.0' }, before)).toEqual({});
  });

  it('decodes start into a start frame with the stream SID, caller number and parameters', () => {
    expect(decode(startMessage(), before)).toEqual({
      streamSid: STREAM,
      frame: {
        kind: 'start',
        callId: CALL,
        streamId: STREAM,
        callerNumber: '+15551230000',
        parameters: { callerNumber: '+15551230000', token: 'v1.2.x' },
      },
    });
    expect(decode(startMessage({ customParameters: undefined }), before).frame).toMatchObject({ callerNumber: undefined, parameters: {} });
  });

  it('accepts a Buffer as well as a string', () => {
    expect(decodeTwilioMessage(Buffer.from(JSON.stringify(startMessage())), before).streamSid).toBe(STREAM);
  });

  it.each([
    ['another encoding', { mediaFormat: { encoding: 'audio/l16', sampleRate: 8000, channels: 1 } }],
    ['another rate', { mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 16000, channels: 1 } }],
    ['stereo', { mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 2 } }],
    ['no media format', { mediaFormat: undefined }],
    ['no call SID', { callSid: undefined }],
    ['a numeric call SID', { callSid: 42 }],
    ['a call SID with path characters', { callSid: '../../x' }],
    ['no stream SID', { streamSid: undefined }],
    ['non-string parameters', { customParameters: { token: 7 } }],
    ['array parameters', { customParameters: ['token'] }],
    ['too many parameters', { customParameters: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`p${i}`, 'v'])) }],
    ['an oversized parameter', { customParameters: { token: 'x'.repeat(600) } }],
  ])('rejects a start with %s', (_name, overrides) => {
    expect(decode(startMessage(overrides), before).error).toEqual(expect.any(String));
  });

  it('rejects a second start on a started stream', () => {
    expect(decode(startMessage(), started).error).toMatch(/second start/);
  });

  it('decodes inbound media to mu-law bytes stamped with the arrival time', () => {
    const bytes = Uint8Array.from({ length: 160 }, (_, i) => i);
    const result = decode(media(Buffer.from(bytes).toString('base64')), started, 1234.5);
    expect(result.error).toBeUndefined();
    expect(result.frame).toEqual({ kind: 'audio', audio: bytes, timestampMs: 1234.5 });
  });

  it('ignores media on tracks other than inbound', () => {
    expect(decode(media('//8=', 'outbound'))).toEqual({});
  });

  it.each([
    ['before start', media('//8='), before],
    ['for another stream', { ...media('//8='), streamSid: 'MZother' }, started],
    ['without a payload', media(undefined), started],
    ['with a numeric payload', media(12345), started],
    ['with an empty payload', media(''), started],
    ['with a payload that is not base64', media('not base64!!'), started],
    ['with a non-string track', media('//8=', 1), started],
    ['without a media object', { event: 'media', streamSid: STREAM, media: 'x' }, started],
    ['with an oversized payload', media('A'.repeat(40_000)), started],
  ])('rejects media %s', (_name, message, state) => {
    expect(decode(message, state).error).toEqual(expect.any(String));
  });

  it('decodes mark echoes, dtmf and stop', () => {
    expect(decode({ event: 'mark', sequenceNumber: '4', streamSid: STREAM, mark: { name: 'u1.0' } }).frame).toEqual({ kind: 'mark', name: 'u1.0' });
    expect(decode({ event: 'dtmf', streamSid: STREAM, sequenceNumber: '5', dtmf: { track: 'inbound_track', digit: '#' } }).frame).toEqual({
      kind: 'dtmf',
      digit: '#',
    });
    expect(
      decode({ event: 'stop', sequenceNumber: '5', streamSid: STREAM, stop: { accountSid: 'AC1', callSid: CALL } }).frame,
    ).toEqual({ kind: 'stop' });
  });

  it.each([
    ['a mark without a name', { event: 'mark', streamSid: STREAM, mark: {} }],
    ['a mark with a numeric name', { event: 'mark', streamSid: STREAM, mark: { name: 1 } }],
    ['a mark with a huge name', { event: 'mark', streamSid: STREAM, mark: { name: 'm'.repeat(1000) } }],
    ['a dtmf with no digit', { event: 'dtmf', streamSid: STREAM, dtmf: {} }],
    ['a dtmf with two digits', { event: 'dtmf', streamSid: STREAM, dtmf: { digit: '12' } }],
    ['a stop for another stream', { event: 'stop', streamSid: 'MZother' }],
  ])('rejects %s', (_name, message) => {
    expect(decode(message).error).toEqual(expect.any(String));
  });

  it('rejects mark and dtmf before start', () => {
    expect(decode({ event: 'mark', mark: { name: 'x' } }, before).error).toMatch(/before start/);
    expect(decode({ event: 'dtmf', dtmf: { digit: '1' } }, before).error).toMatch(/before start/);
  });

  it.each([
    ['bad JSON', '{"event":'],
    ['an empty message', ''],
    ['a JSON string', '"media"'],
    ['a JSON array', '[1,2,3]'],
    ['null', 'null'],
    ['no event', '{"media":{}}'],
    ['a numeric event', '{"event":5}'],
    ['an unknown event', '{"event":"teleport"}'],
    ['a prototype-pollution attempt', '{"event":"start","__proto__":{"polluted":true}}'],
  ])('rejects %s', (_name, raw) => {
    expect(decode(raw).error).toEqual(expect.any(String));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects oversized messages before parsing them', () => {
    const huge = JSON.stringify({ event: 'connected', pad: 'x'.repeat(MAX_TWILIO_MESSAGE_BYTES) });
    expect(decode(huge).error).toMatch(/too large/);
  });

  it('never throws, whatever the input', () => {
    const samples: unknown[] = [
      '{"event":"media","media":null}',
      '{"event":"start","start":null}',
      '{"event":"start","start":{"mediaFormat":[]}}',
      '\u0000\u0001',
      '{"event":"media","media":{"payload":{"toString":1}}}',
      '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]',
    ];
    for (let i = 0; i < 500; i++) {
      samples.push(Buffer.from(Array.from({ length: Math.floor(Math.random() * 200) }, () => Math.floor(Math.random() * 256))));
    }
    for (const sample of samples) {
      for (const state of [before, started]) {
        expect(() => decodeTwilioMessage(sample as string | Buffer, state)).not.toThrow();
      }
    }
  });
});

describe('decodeTwilioMessage: media payloads', () => {
  it('decodes any payload exactly, padded or not, either base64 alphabet', () => {
    for (let length = 1; length <= 64; length++) {
      const bytes = Uint8Array.from({ length }, () => Math.floor(Math.random() * 256));
      for (const encoding of ['base64', 'base64url'] as const) {
        const text = Buffer.from(bytes).toString(encoding);
        const padded = text.padEnd(Math.ceil(text.length / 4) * 4, '=');
        expect(decode(media(padded)).frame).toEqual({ kind: 'audio', audio: bytes, timestampMs: 0 });
      }
    }
  });

  it.each([
    ['padding in the middle', 'QQ==QUFB'],
    ['a character outside base64', 'QUF*QUFB'],
    ['a length not a multiple of 4', 'QUFBQ'],
    ['only padding', '===='],
    ['whitespace', 'QUFB QUF'],
  ])('refuses %s', (_name, payload) => {
    expect(decode(media(payload)).error).toBe('media payload is not base64');
  });
});

describe('encodeTwilioFrame', () => {
  it('encodes audio as a base64 media message for the stream', () => {
    const audio = new Uint8Array([0xff, 0x7f, 0x00, 0x80]);
    expect(JSON.parse(encodeTwilioFrame({ kind: 'audio', audio }, STREAM)!)).toEqual({
      event: 'media',
      streamSid: STREAM,
      media: { payload: Buffer.from(audio).toString('base64') },
    });
  });

  it('encodes only the bytes of a view, not its whole buffer', () => {
    const backing = new Uint8Array([1, 2, 3, 4, 5, 6]);
    const view = backing.subarray(2, 4);
    const payload = (JSON.parse(encodeTwilioFrame({ kind: 'audio', audio: view }, STREAM)!) as { media: { payload: string } }).media.payload;
    expect([...Buffer.from(payload, 'base64')]).toEqual([3, 4]);
  });

  it('encodes mark and clear', () => {
    expect(JSON.parse(encodeTwilioFrame({ kind: 'mark', name: 'u1.0' }, STREAM)!)).toEqual({ event: 'mark', streamSid: STREAM, mark: { name: 'u1.0' } });
    expect(JSON.parse(encodeTwilioFrame({ kind: 'clear' }, STREAM)!)).toEqual({ event: 'clear', streamSid: STREAM });
  });

  it('has nothing to send for harness events', () => {
    expect(encodeTwilioFrame({ kind: 'event', event: { type: 'agent_text', text: 'Hi', turn: 1 } }, STREAM)).toBeNull();
  });

  it('round-trips audio through decode', () => {
    const audio = Uint8Array.from({ length: 160 }, () => Math.floor(Math.random() * 256));
    const out = JSON.parse(encodeTwilioFrame({ kind: 'audio', audio }, STREAM)!) as { media: { payload: string } };
    expect(decode(media(out.media.payload)).frame).toMatchObject({ kind: 'audio', audio });
  });
});
