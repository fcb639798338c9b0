/**
 * The vendor emulators (OpenAI, Deepgram, ElevenLabs) in their own process, for the load bench:
 * their work (tone synthesis, 20 ms pacing timers, JSON/base64) then competes with neither the
 * server's event loop nor the callers'. Configured over IPC; reports its own event-loop delay so
 * a bench can tell emulator jitter from server jitter.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startDeepgramEmulator } from '../../test/emulators/deepgram.js';
import { startElevenLabsEmulator } from '../../test/emulators/elevenlabs.js';
import { startOpenAiEmulator } from '../../test/emulators/openai.js';

interface StartMessage {
  type: 'start';
  sttFinalDelayMs: number;
  llmFirstTokenMs: number;
  ttsFirstByteDelayMs: number;
  ttsChunkMs: number;
  ttsInterChunkDelayMs: number;
  msPerChar: number;
  replyText: string;
}
type Request = StartMessage | { type: 'stats'; id: number; reset?: boolean } | { type: 'stop' };

const histogram = monitorEventLoopDelay({ resolution: 1 });
let close: (() => Promise<void>) | undefined;

async function handle(message: Request): Promise<void> {
  if (message.type === 'start') {
    const [openai, deepgram, elevenlabs] = await Promise.all([
      startOpenAiEmulator(),
      startDeepgramEmulator({ finalDelayMs: message.sttFinalDelayMs, idleTimeoutMs: 60_000 }),
      startElevenLabsEmulator({
        msPerChar: message.msPerChar,
        chunkMs: message.ttsChunkMs,
        firstByteDelayMs: message.ttsFirstByteDelayMs,
        interChunkDelayMs: message.ttsInterChunkDelayMs,
        idleTimeoutMs: 120_000,
      }),
    ]);
    openai.setDefault({ text: message.replyText, firstTokenDelayMs: message.llmFirstTokenMs });
    close = async () => {
      await Promise.all([openai.close(), deepgram.close(), elevenlabs.close()]);
    };
    histogram.enable();
    process.send?.({
      type: 'ready',
      env: {
        OPENAI_API_KEY: openai.apiKey,
        OPENAI_BASE_URL: openai.baseUrl,
        DEEPGRAM_API_KEY: deepgram.apiKey,
        DEEPGRAM_BASE_URL: deepgram.url,
        ELEVENLABS_API_KEY: elevenlabs.apiKey,
        ELEVENLABS_BASE_URL: elevenlabs.baseUrl,
      },
    });
  } else if (message.type === 'stats') {
    const ms = (v: number): number => Math.round(v / 1e3) / 1e3;
    process.send?.({
      type: 'stats',
      id: message.id,
      eventLoop: { p50Ms: ms(histogram.percentile(50) || 0), p99Ms: ms(histogram.percentile(99) || 0), maxMs: ms(histogram.max || 0) },
      cpu: process.cpuUsage(),
    });
    if (message.reset === true) histogram.reset();
  } else {
    await close?.();
    process.exit(0);
  }
}

process.on('message', (message: Request) => {
  handle(message).catch((error: unknown) => {
    process.stderr.write(`emulator child failed: ${String(error)}\n`);
    process.exit(1);
  });
});
process.on('disconnect', () => process.exit(0));
