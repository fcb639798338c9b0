/**
 * The vendor emulators a bench points startApp at, with timestamp hooks (epoch ms, sub-ms) on the
 * moments the emulators themselves do not time: Deepgram audio received / SpeechStarted and
 * speech_final sent, OpenAI request answered, ElevenLabs text received. The hooks wrap the
 * emulators' own record arrays and fields; the emulators are used unmodified.
 */
import { startDeepgramEmulator } from '../../test/emulators/deepgram.js';
import type { DeepgramConnectionRecord, DeepgramEmulator } from '../../test/emulators/deepgram.js';
import { startElevenLabsEmulator } from '../../test/emulators/elevenlabs.js';
import type { ElevenLabsEmulator, ElevenLabsEmulatorOptions } from '../../test/emulators/elevenlabs.js';
import { startGoogleCalendarEmulator } from '../../test/emulators/google-calendar.js';
import type { GoogleCalendarEmulator } from '../../test/emulators/google-calendar.js';
import { startOpenAiEmulator } from '../../test/emulators/openai.js';
import type { OpenAiEmulator, RecordedRequest } from '../../test/emulators/openai.js';
import { epochMs } from './stats.js';

export interface DeepgramTimes {
  /** Epoch ms of the latest audio message received on the connection. */
  lastAudioAt: number;
  speechStarted: Array<{ sentAt: number; audioAt: number }>;
  speechFinals: number[];
}

export interface Emulators {
  openai: OpenAiEmulator;
  deepgram: DeepgramEmulator;
  elevenlabs: ElevenLabsEmulator;
  google: GoogleCalendarEmulator | undefined;
  /** Per Deepgram connection (same order as deepgram.connections). */
  deepgramTimes: DeepgramTimes[];
  /** Per OpenAI request (same order as openai.requests): epoch ms of arrival and of the end of the response. */
  openaiTimes: Array<{ arrivedAt: number; closedAt: number | undefined }>;
  /** Epoch ms of every text message ElevenLabs received (all connections), in order. */
  ttsTextTimes: number[];
  env(): Record<string, string>;
  close(): Promise<void>;
}

export interface EmulatorOptions {
  sttFinalDelayMs: number;
  ttsFirstByteDelayMs: number;
  calendarLatencyMs?: number;
  elevenlabs?: ElevenLabsEmulatorOptions;
}

function hookPush<T>(array: T[], onPush: (item: T) => void): void {
  const push = array.push.bind(array);
  array.push = (...items: T[]): number => {
    for (const item of items) onPush(item);
    return push(...items);
  };
}

export async function startEmulators(options: EmulatorOptions): Promise<Emulators> {
  const [openai, deepgram, elevenlabs, google] = await Promise.all([
    startOpenAiEmulator(),
    startDeepgramEmulator({ finalDelayMs: options.sttFinalDelayMs }),
    startElevenLabsEmulator({ msPerChar: 20, chunkMs: 100, ...options.elevenlabs, firstByteDelayMs: options.ttsFirstByteDelayMs }),
    options.calendarLatencyMs === undefined ? undefined : startGoogleCalendarEmulator({ latencyMs: options.calendarLatencyMs }),
  ]);

  const deepgramTimes: DeepgramTimes[] = [];
  hookPush(deepgram.connections as DeepgramConnectionRecord[], (record) => {
    const times: DeepgramTimes = { lastAudioAt: 0, speechStarted: [], speechFinals: [] };
    deepgramTimes.push(times);
    let bytes = record.audioBytes;
    Object.defineProperty(record, 'audioBytes', {
      get: () => bytes,
      set: (value: number) => {
        bytes = value;
        times.lastAudioAt = epochMs();
      },
    });
    hookPush(record.messagesSent, (message) => {
      if (message.type === 'SpeechStarted') times.speechStarted.push({ sentAt: epochMs(), audioAt: times.lastAudioAt });
      else if (message.type === 'Results' && message.speech_final) times.speechFinals.push(epochMs());
    });
  });

  const openaiTimes: Array<{ arrivedAt: number; closedAt: number | undefined }> = [];
  hookPush(openai.requests, (record: RecordedRequest) => {
    const times = { arrivedAt: epochMs(), closedAt: undefined as number | undefined };
    openaiTimes.push(times);
    let closedAt = record.closedAt;
    Object.defineProperty(record, 'closedAt', {
      get: () => closedAt,
      set: (value: number | undefined) => {
        closedAt = value;
        times.closedAt = epochMs();
      },
    });
  });

  const ttsTextTimes: number[] = [];
  hookPush(elevenlabs.connections as Array<(typeof elevenlabs.connections)[number]>, (record) => {
    hookPush(record.texts, () => ttsTextTimes.push(epochMs()));
  });
  // Calls speak through one multi-context socket each: a reply's text arrives in its context.
  hookPush(elevenlabs.multiConnections as Array<(typeof elevenlabs.multiConnections)[number]>, (connection) => {
    hookPush(connection.contexts as Array<(typeof connection.contexts)[number]>, (context) => {
      hookPush(context.texts, () => ttsTextTimes.push(epochMs()));
    });
  });

  return {
    openai,
    deepgram,
    elevenlabs,
    google,
    deepgramTimes,
    openaiTimes,
    ttsTextTimes,
    env() {
      return {
        OPENAI_API_KEY: openai.apiKey,
        OPENAI_BASE_URL: openai.baseUrl,
        DEEPGRAM_API_KEY: deepgram.apiKey,
        DEEPGRAM_BASE_URL: deepgram.url,
        ELEVENLABS_API_KEY: elevenlabs.apiKey,
        ELEVENLABS_BASE_URL: elevenlabs.baseUrl,
        ...(google === undefined
          ? {}
          : {
              GOOGLE_CLIENT_ID: google.clientId,
              GOOGLE_CLIENT_SECRET: google.clientSecret,
              GOOGLE_REFRESH_TOKEN: google.refreshToken,
              GOOGLE_API_BASE_URL: google.rootUrl,
              GOOGLE_TOKEN_URI: google.tokenUrl,
            }),
      };
    },
    async close() {
      await Promise.all([openai.close(), deepgram.close(), elevenlabs.close(), google?.close()]);
    },
  };
}
