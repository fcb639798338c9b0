// Microphone capture in the audio thread: the context runs at the device rate (Firefox refuses to
// connect a microphone to a context at another rate), so resampling to 16 kHz happens here, and
// chunks of PCM16 go to the page, which sends them as binary WebSocket messages.
class Pcm16Capture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const { targetRate = 16000, chunkMs = 40 } = options.processorOptions ?? {};
    // Input samples per output sample (`sampleRate` is the context rate, a worklet global).
    this.step = sampleRate / targetRate;
    this.chunkLength = Math.round((targetRate * chunkMs) / 1000);
    this.chunk = new Int16Array(this.chunkLength);
    this.filled = 0;
    this.position = 0;
    this.sum = 0;
    this.count = 0;
    this.previous = 0;
  }

  process(inputs) {
    const input = inputs[0]?.[0];
    if (input === undefined) return true;
    if (this.step >= 1) {
      // Down: each output sample is the mean of the input samples in its span. A box filter is
      // crude, but it keeps most of what lies above 8 kHz from folding back into the speech band.
      for (let i = 0; i < input.length; i++) {
        this.sum += input[i];
        this.count += 1;
        this.position += 1;
        if (this.position >= this.step) {
          this.position -= this.step;
          this.emit(this.sum / this.count);
          this.sum = 0;
          this.count = 0;
        }
      }
    } else {
      // Up (a context below 16 kHz): linear interpolation between neighbouring input samples.
      for (let i = 0; i < input.length; i++) {
        const current = input[i];
        while (this.position < 1) {
          this.emit(this.previous + (current - this.previous) * this.position);
          this.position += this.step;
        }
        this.position -= 1;
        this.previous = current;
      }
    }
    return true;
  }

  emit(value) {
    const clamped = Math.max(-1, Math.min(1, value));
    this.chunk[this.filled++] = clamped < 0 ? clamped * 0x8000 : clamped * 0x7fff;
    if (this.filled === this.chunkLength) {
      // Transferred, not copied: the chunk (detached from here on) is handed over, a fresh one started.
      this.port.postMessage(this.chunk.buffer, [this.chunk.buffer]);
      this.chunk = new Int16Array(this.chunkLength);
      this.filled = 0;
    }
  }
}

registerProcessor('pcm16-capture', Pcm16Capture);
