// Microphone in, agent audio out. Both are PCM16 little-endian mono at 16 kHz on the wire.
const WIRE_RATE = 16000;
/** Scheduling lead for audio that starts from silence, so its first milliseconds are not lost. */
const LEAD_S = 0.05;

/** Captures the microphone and hands `onChunk` ArrayBuffers of PCM16 at 16 kHz. */
export async function createMicrophone(context, onChunk) {
  const stream = await navigator.mediaDevices.getUserMedia({
    // Echo cancellation keeps the agent's own voice, played from the speakers, from reaching the
    // STT as a barge-in. Headphones are better still.
    audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  });
  await context.audioWorklet.addModule('/harness/mic-worklet.js');
  const source = context.createMediaStreamSource(stream);
  const node = new AudioWorkletNode(context, 'pcm16-capture', {
    processorOptions: { targetRate: WIRE_RATE, chunkMs: 40 },
  });
  node.port.onmessage = (event) => onChunk(event.data);
  source.connect(node);
  // The node outputs silence; connecting it keeps the graph pulling it in every browser.
  node.connect(context.destination);
  return {
    stop() {
      node.port.onmessage = null;
      source.disconnect();
      node.disconnect();
      for (const track of stream.getTracks()) track.stop();
    },
  };
}

/**
 * Plays the agent's audio back to back and reports each mark once the audio sent before it has
 * played, which is how the server knows what the caller heard when they interrupt.
 */
export function createPlayer(context, onMarkPlayed) {
  const sources = new Set();
  // Context time at which everything scheduled so far ends.
  let playhead = 0;
  let marks = [];
  let timer;

  function enqueue(arrayBuffer) {
    const view = new DataView(arrayBuffer);
    const count = Math.floor(arrayBuffer.byteLength / 2);
    if (count === 0) return;
    const buffer = context.createBuffer(1, count, WIRE_RATE);
    const channel = buffer.getChannelData(0);
    for (let i = 0; i < count; i++) channel[i] = view.getInt16(i * 2, true) / 32768;
    const source = context.createBufferSource();
    source.buffer = buffer;
    source.connect(context.destination);
    const startAt = Math.max(playhead, context.currentTime + LEAD_S);
    source.start(startAt);
    playhead = startAt + buffer.duration;
    sources.add(source);
    source.onended = () => sources.delete(source);
  }

  function mark(name) {
    marks.push({ name, at: playhead });
    timer ??= setInterval(releaseMarks, 20);
  }

  function releaseMarks() {
    const now = context.currentTime;
    while (marks.length > 0 && marks[0].at <= now) onMarkPlayed(marks.shift().name);
    if (marks.length === 0) {
      clearInterval(timer);
      timer = undefined;
    }
  }

  /** The caller barged in: silence now, and the marks of audio never played are never echoed. */
  function clear() {
    for (const source of sources) {
      try {
        source.stop();
      } catch {
        // Not started yet in some browsers' eyes; disconnecting is enough.
      }
      source.disconnect();
    }
    sources.clear();
    marks = [];
    playhead = 0;
  }

  return {
    enqueue,
    mark,
    clear,
    playing: () => playhead > context.currentTime,
    close() {
      clear();
      clearInterval(timer);
      timer = undefined;
    },
  };
}
