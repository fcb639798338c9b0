/**
 * The three voice vendors as local emulators, with the real adapters pointed at them: what the
 * pipeline and transport suites run against. Latencies can be injected per emulator.
 */
import type { AudioFormat } from '../../src/core/frames.js';
import { createDeepgramStt } from '../../src/providers/deepgram/deepgram-stt.js';
import { createElevenLabsTts } from '../../src/providers/elevenlabs/elevenlabs-tts.js';
import type { ElevenLabsTts } from '../../src/providers/elevenlabs/elevenlabs-tts.js';
import { createOpenAiLlm } from '../../src/providers/openai/openai-llm.js';
import type { LlmProvider } from '../../src/providers/llm.js';
import type { SttProvider } from '../../src/providers/stt.js';
import { startDeepgramEmulator } from '../emulators/deepgram.js';
import type { DeepgramEmulator } from '../emulators/deepgram.js';
import { startElevenLabsEmulator } from '../emulators/elevenlabs.js';
import type { ElevenLabsEmulator } from '../emulators/elevenlabs.js';
import { startOpenAiEmulator } from '../emulators/openai.js';
import type { OpenAiEmulator } from '../emulators/openai.js';
import { concatAudio, silence, speechLike, toFrames } from './audio-fixtures.js';

export interface VoiceStack {
  openai: OpenAiEmulator;
  deepgram: DeepgramEmulator;
  elevenlabs: ElevenLabsEmulator;
  stt: SttProvider;
  llm: LlmProvider;
  tts: ElevenLabsTts;
  close(): Promise<void>;
}

export async function startVoiceStack(): Promise<VoiceStack> {
  const [openai, deepgram, elevenlabs] = await Promise.all([
    startOpenAiEmulator(),
    startDeepgramEmulator(),
    startElevenLabsEmulator({ msPerChar: 20, chunkMs: 100 }),
  ]);
  const stt = createDeepgramStt({
    apiKey: deepgram.apiKey,
    baseUrl: deepgram.url,
    model: 'nova-3',
    reconnect: { maxAttempts: 5, baseDelayMs: 20, maxDelayMs: 200 },
  });
  const llm = createOpenAiLlm({ apiKey: openai.apiKey, baseUrl: openai.baseUrl, model: 'gpt-4o-mini', budgetMs: 1_500 });
  const tts = createElevenLabsTts({
    apiKey: elevenlabs.apiKey,
    baseUrl: elevenlabs.baseUrl,
    voiceId: 'test-voice',
    modelId: 'eleven_flash_v2_5',
  });
  return {
    openai,
    deepgram,
    elevenlabs,
    stt,
    llm,
    tts,
    async close() {
      tts.close();
      await Promise.all([openai.close(), deepgram.close(), elevenlabs.close()]);
    },
  };
}

/** A spoken utterance: speech-like audio, then enough silence to end the turn. */
export function utteranceAudio(format: AudioFormat, speechMs = 800, silenceMs = 700): Uint8Array {
  return concatAudio(speechLike(speechMs, format), silence(silenceMs, format));
}

/** The same in 20 ms frames. */
export function utteranceFrames(format: AudioFormat, speechMs = 800, silenceMs = 700): Uint8Array[] {
  return toFrames(utteranceAudio(format, speechMs, silenceMs), format);
}
