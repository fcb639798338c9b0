/** The real ElevenLabs provider pointed at the local emulator, and what its tests read off a stream. */
import { createElevenLabsTts } from '../../src/providers/elevenlabs/elevenlabs-tts.js';
import type { ElevenLabsTts, ElevenLabsTtsOptions } from '../../src/providers/elevenlabs/elevenlabs-tts.js';
import type { TtsStream } from '../../src/providers/tts.js';
import type { ElevenLabsEmulator } from '../emulators/elevenlabs.js';

/** The provider on `emulator`, with short timeouts so a stuck test fails fast; `overrides` win. */
export function elevenLabsTtsFor(emulator: ElevenLabsEmulator, overrides: Partial<ElevenLabsTtsOptions> = {}): ElevenLabsTts {
  return createElevenLabsTts({
    apiKey: emulator.apiKey,
    baseUrl: emulator.baseUrl,
    voiceId: 'voice-123',
    modelId: 'eleven_flash_v2_5',
    connectTimeoutMs: 1_000,
    audioTimeoutMs: 2_000,
    ...overrides,
  });
}

/** Every audio chunk of `stream`, to its end. */
export async function collectAudio(stream: TtsStream): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream.audio) chunks.push(chunk);
  return chunks;
}

export const totalBytes = (chunks: readonly Uint8Array[]): number => chunks.reduce((sum, chunk) => sum + chunk.length, 0);
