/**
 * Opus glue for WebRTC audio (opusscript: libopus in WebAssembly). The pipeline speaks 16 kHz PCM16
 * (BROWSER_AUDIO); WebRTC carries Opus, whose RTP clock is always 48 kHz whatever the audio. libopus
 * decodes any packet straight to 16 kHz and encodes 16 kHz input, with its own band-limited
 * resampler, so no separate 48 <-> 16 kHz step runs on the hot path: one WASM call a frame each way.
 *
 * Frames are 20 ms (what browsers send and expect by default): 320 samples at 16 kHz, 960 ticks of
 * the RTP clock.
 */
import OpusScript from 'opusscript';
import { concatBytes } from './pcm.js';

/** The RTP clock of Opus (RFC 7587), independent of the audio's sampling rate. */
const OPUS_RTP_CLOCK_HZ = 48_000;
/** The dynamic payload type browsers offer Opus under; werift answers with it. */
export const OPUS_PAYLOAD_TYPE = 111;
export const OPUS_FRAME_MS = 20;
/** PCM rate on our side of the codec: the pipeline's linear16 rate. */
const OPUS_PCM_RATE = 16_000;
/** Samples in one 20 ms frame at the PCM rate. */
export const OPUS_FRAME_SAMPLES = (OPUS_PCM_RATE * OPUS_FRAME_MS) / 1000;
/** Bytes of PCM16 in one 20 ms frame. */
export const OPUS_FRAME_BYTES = OPUS_FRAME_SAMPLES * 2;
/** RTP timestamp ticks per 20 ms frame. */
export const OPUS_FRAME_TICKS = (OPUS_RTP_CLOCK_HZ * OPUS_FRAME_MS) / 1000;

export interface OpusEncoder {
  /** One 20 ms frame of PCM16 LE (exactly OPUS_FRAME_BYTES) -> one Opus packet. */
  encode(pcm: Uint8Array): Uint8Array;
  close(): void;
}

export interface OpusDecoder {
  /** One Opus packet -> PCM16 LE at 16 kHz (20 ms for a browser's packet). Throws on a corrupt packet. */
  decode(packet: Uint8Array): Uint8Array;
  close(): void;
}

/** Speech encoder: VOIP mode, 24 kb/s (plenty for 16 kHz speech). */
export function createOpusEncoder(options: { bitrate?: number } = {}): OpusEncoder {
  const codec = new OpusScript(OPUS_PCM_RATE, 1, OpusScript.Application.VOIP);
  codec.setBitrate(options.bitrate ?? 24_000);
  let closed = false;
  return {
    encode(pcm) {
      if (closed) throw new Error('opus encoder: used after close');
      if (pcm.length !== OPUS_FRAME_BYTES) {
        throw new RangeError(`opus encoder: a frame is ${OPUS_FRAME_BYTES} bytes of PCM16, got ${pcm.length}`);
      }
      // opusscript's types ask for a Buffer; a view over the same bytes is one. Its answer is a
      // fresh Buffer (copied out of the WASM heap): viewed as a plain Uint8Array, not copied again.
      return plainView(codec.encode(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength), OPUS_FRAME_SAMPLES));
    },
    close() {
      if (closed) return;
      closed = true;
      codec.delete();
    },
  };
}

export function createOpusDecoder(): OpusDecoder {
  const codec = new OpusScript(OPUS_PCM_RATE, 1, OpusScript.Application.VOIP);
  let closed = false;
  return {
    decode(packet) {
      if (closed) throw new Error('opus decoder: used after close');
      if (packet.length === 0) throw new RangeError('opus decoder: empty packet');
      // opusscript copies the PCM out of its WASM heap into a fresh Buffer: no second copy here.
      return plainView(codec.decode(Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength)));
    },
    close() {
      if (closed) return;
      closed = true;
      codec.delete();
    },
  };
}

/** A Buffer's bytes as a plain Uint8Array (whose slice() copies, as callers expect), without a copy. */
function plainView(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/**
 * Cuts a PCM16 byte stream (TTS chunks of any size) into 20 ms frames; the remainder waits for
 * the next chunk. `flush()` pads the last partial frame with silence (the end of an utterance).
 */
export interface FrameSplitter {
  push(pcm: Uint8Array): Uint8Array[];
  flush(): Uint8Array | undefined;
  /** Bytes waiting for a whole frame. */
  readonly pending: number;
  reset(): void;
}

export function createFrameSplitter(frameBytes: number = OPUS_FRAME_BYTES): FrameSplitter {
  let carry: Uint8Array = new Uint8Array(0);
  return {
    push(pcm) {
      const all = carry.length === 0 ? pcm : concatBytes([carry, pcm]);
      const frames: Uint8Array[] = [];
      let offset = 0;
      for (; offset + frameBytes <= all.length; offset += frameBytes) frames.push(all.slice(offset, offset + frameBytes));
      carry = all.slice(offset);
      return frames;
    },
    flush() {
      if (carry.length === 0) return undefined;
      const frame = new Uint8Array(frameBytes);
      frame.set(carry);
      carry = new Uint8Array(0);
      return frame;
    },
    get pending() {
      return carry.length;
    },
    reset() {
      carry = new Uint8Array(0);
    },
  };
}
