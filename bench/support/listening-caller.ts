/**
 * A phone caller for the load bench, cheap enough that hundreds share a core with the server: the
 * signed webhook, then Twilio's side of the media stream with every message it sends built ahead
 * (per call) and what it receives read without decoding audio. It hears the agent the way Twilio
 * plays it (https://www.twilio.com/docs/voice/media-streams/websocket-messages):
 *
 *   - outbound `media` is queued and played in order, 20 ms per 20 ms, from when it arrives;
 *   - a `mark` is echoed once the audio queued before it has played; `clear` drops what is queued
 *     and echoes every pending mark at once;
 *   - the playback buffer is what was sent ahead of real time. If it runs dry in the middle of one
 *     utterance (the next media of the same utterance arrives after the buffer emptied), the caller
 *     heard a gap. Between utterances (sentence, filler, greeting -> reply) silence is not a gap.
 *
 * The conversation: after the greeting the caller speaks (`speechFrames`), waits until the agent's
 * reply has been played to the end, pauses, speaks again, for as long as the call lasts. Frames go
 * out every 20 ms on Twilio's clock (caught up after a late timer, as Twilio's are not late).
 */
import WebSocket from 'ws';
import { twilioSid } from '../../test/emulators/twilio.js';
import { ACCOUNT_SID, ringWebhook } from './phone.js';

/** The buffer ran dry for longer than this mid-utterance: a gap the caller hears (one frame). */
export const AUDIBLE_GAP_MS = 20;
const FRAME_MS = 20;

export interface CallerScript {
  /** Base64 payloads of the caller's speech, 20 ms each. */
  speechPayloads: readonly string[];
  silencePayload: string;
  /** Quiet after the agent's reply has played before the caller speaks again. */
  pauseAfterReplyMs: number;
  /** No reply this long after speaking: the caller speaks again (and it is counted). */
  replyTimeoutMs: number;
}

export interface HeardStats {
  /** Media messages and ms of agent audio received (and played). */
  mediaMessages: number;
  audioMs: number;
  marksReceived: number;
  /** Buffer ran dry > AUDIBLE_GAP_MS mid-utterance, and the longest such silence. */
  audibleGaps: number;
  longestGapMs: number;
  /** Utterances that started playing, and replies the caller waited for in vain. */
  utterancesHeard: number;
  repliesMissing: number;
  turnsTaken: number;
}

export interface ListeningCaller {
  readonly callSid: string;
  stats(): HeardStats;
  /** Zeroes the counters (the start of a measured window). */
  resetStats(): void;
  hangUp(): void;
  readonly closed: Promise<void>;
}

export async function callAndListen(serverUrl: string, from: string, script: CallerScript): Promise<ListeningCaller> {
  const callSid = twilioSid('CA');
  const streamSid = twilioSid('MZ');
  const customParameters = await ringWebhook(serverUrl, callSid, from, 15_000);

  const socket = new WebSocket(`${serverUrl.replace('http', 'ws')}/twilio/stream`, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res) => reject(new Error(`stream handshake answered HTTP ${res.statusCode}`)));
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);

  // Twilio's media message, as it sends it, with the parts that change spliced in.
  const mediaHead = `{"event":"media","sequenceNumber":"`;
  const mediaMid = `","media":{"track":"inbound","chunk":"`;
  const mediaTs = `","timestamp":"`;
  const mediaPayload = `","payload":"`;
  const mediaTail = `"},"streamSid":"${streamSid}"}`;
  // What the server sends (serializer.ts key order); anything else is parsed.
  const outboundMedia = Buffer.from(`{"event":"media","streamSid":"${streamSid}","media":{"payload":"`);
  let sequence = 0;
  let chunk = 0;
  const sendFrame = (payload: string): void => {
    sequence += 1;
    chunk += 1;
    socket.send(`${mediaHead}${sequence}${mediaMid}${chunk}${mediaTs}${(chunk - 1) * FRAME_MS}${mediaPayload}${payload}${mediaTail}`);
  };
  const sendJson = (message: Record<string, unknown>): void => {
    sequence += 1;
    socket.send(JSON.stringify({ ...message, sequenceNumber: String(sequence), streamSid }));
  };

  const zero = (): HeardStats => ({
    mediaMessages: 0,
    audioMs: 0,
    marksReceived: 0,
    audibleGaps: 0,
    longestGapMs: 0,
    utterancesHeard: 0,
    repliesMissing: 0,
    turnsTaken: 0,
  });
  let stats = zero();

  // ---- playback (Twilio's side) ----
  /** performance.now() at which the audio queued so far has played. */
  let playEnd = 0;
  /** Marks waiting for their audio to play: name and when it will have. */
  const pendingMarks: Array<{ name: string; at: number }> = [];
  /** The utterance of the last audio played, and a dry spell before the latest media, if any. */
  let lastUtterance: string | undefined;
  let dryBeforeLatestMs = 0;
  let mediaSinceMark = false;

  function onMedia(at: number, audioMs: number): void {
    stats.mediaMessages += 1;
    stats.audioMs += audioMs;
    dryBeforeLatestMs = playEnd > 0 && at > playEnd ? at - playEnd : 0;
    playEnd = Math.max(playEnd, at) + audioMs;
    mediaSinceMark = true;
  }

  function onMark(name: string): void {
    stats.marksReceived += 1;
    // speech-output.ts sends a mark after every piece of audio: it names that audio's utterance.
    const utterance = name.slice(0, name.indexOf('.'));
    if (mediaSinceMark) {
      if (utterance !== lastUtterance) stats.utterancesHeard += 1;
      else if (dryBeforeLatestMs > AUDIBLE_GAP_MS) {
        stats.audibleGaps += 1;
        stats.longestGapMs = Math.max(stats.longestGapMs, dryBeforeLatestMs);
      }
      lastUtterance = utterance;
      mediaSinceMark = false;
    }
    pendingMarks.push({ name, at: playEnd });
  }

  function onClear(at: number): void {
    playEnd = at;
    for (const mark of pendingMarks.splice(0)) sendJson({ event: 'mark', mark: { name: mark.name } });
  }

  socket.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) return;
    const at = performance.now();
    if (data.length > outboundMedia.length && data.compare(outboundMedia, 0, outboundMedia.length, 0, outboundMedia.length) === 0) {
      // `..."payload":"<base64>"}}`: the audio's length from the base64's, without decoding it.
      const end = data.length - 3;
      const chars = end - outboundMedia.length;
      const padding = (data[end - 1] === 0x3d ? 1 : 0) + (data[end - 2] === 0x3d ? 1 : 0);
      onMedia(at, (((chars / 4) * 3 - padding) / 8000) * 1000);
      return;
    }
    let message: { event?: string; media?: { payload?: string }; mark?: { name?: string } };
    try {
      message = JSON.parse(data.toString()) as typeof message;
    } catch {
      return;
    }
    if (message.event === 'media' && typeof message.media?.payload === 'string') {
      onMedia(at, (Buffer.byteLength(message.media.payload, 'base64') / 8000) * 1000);
    } else if (message.event === 'mark' && typeof message.mark?.name === 'string') {
      onMark(message.mark.name);
    } else if (message.event === 'clear') {
      onClear(at);
    }
  });

  // ---- speaking (one timer per call: frames out, marks echoed, the conversation moved on) ----
  let nextFrameAt = performance.now();
  let speechIndex = -1;
  let spokeAt = -1;
  let heardReplySince = false;
  let utterancesAtSpeech = 0;
  /** The greeting first: the caller speaks once it has played. */
  let waitingForReply = true;
  let quietSince = -1;
  const tick = (): void => {
    const now = performance.now();
    while (pendingMarks.length > 0 && pendingMarks[0]!.at <= now) {
      sendJson({ event: 'mark', mark: { name: pendingMarks.shift()!.name } });
    }
    if (waitingForReply) {
      heardReplySince ||= stats.utterancesHeard + totalUtterancesBefore > utterancesAtSpeech;
      const playing = playEnd > now || pendingMarks.length > 0;
      if (heardReplySince && !playing) {
        if (quietSince < 0) quietSince = now;
        if (now - quietSince >= script.pauseAfterReplyMs) waitingForReply = false;
      } else quietSince = -1;
      if (spokeAt >= 0 && !heardReplySince && now - spokeAt > script.replyTimeoutMs) {
        stats.repliesMissing += 1;
        waitingForReply = false;
      }
      if (!waitingForReply) speechIndex = 0;
    }
    // Twilio's clock does not slip: frames a late timer missed go out now.
    for (let n = 0; nextFrameAt <= now + 1 && n < 5; n++) {
      nextFrameAt += FRAME_MS;
      if (speechIndex >= 0 && speechIndex < script.speechPayloads.length) {
        sendFrame(script.speechPayloads[speechIndex++]!);
        if (speechIndex === script.speechPayloads.length) {
          speechIndex = -1;
          spokeAt = now;
          stats.turnsTaken += 1;
          waitingForReply = true;
          heardReplySince = false;
          quietSince = -1;
          utterancesAtSpeech = stats.utterancesHeard + totalUtterancesBefore;
        }
      } else sendFrame(script.silencePayload);
    }
    if (now - nextFrameAt > 200) nextFrameAt = now;
  };
  /** Utterances counted before the last reset, so the conversation state survives resetStats. */
  let totalUtterancesBefore = 0;

  sendJson({ event: 'connected', protocol: 'Call', version: '1.0.0' });
  sendJson({
    event: 'start',
    start: {
      accountSid: ACCOUNT_SID,
      streamSid,
      callSid,
      tracks: ['inbound'],
      mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      customParameters,
    },
  });
  const timer = setInterval(() => {
    if (socket.readyState === WebSocket.OPEN) tick();
  }, FRAME_MS);
  void closed.then(() => clearInterval(timer));

  return {
    callSid,
    stats: () => ({ ...stats }),
    resetStats() {
      totalUtterancesBefore += stats.utterancesHeard;
      stats = zero();
    },
    hangUp() {
      clearInterval(timer);
      if (socket.readyState !== WebSocket.OPEN) return;
      sendJson({ event: 'stop', stop: { accountSid: ACCOUNT_SID, callSid } });
      socket.close(1000);
    },
    closed,
  };
}
