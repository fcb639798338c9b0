// Voice over a peer connection (POST /webrtc/offer): the browser's own audio stack does echo
// cancellation, noise suppression, gain control, jitter buffering and Opus. The `events` data
// channel carries the harness protocol's text messages, so the page's panels work unchanged.

/** ICE and DTLS must be up by then, or the page falls back to the WebSocket. */
const CONNECT_TIMEOUT_MS = 8000;
/** Host candidates come in milliseconds; a slow STUN server must not hold the offer long. */
const GATHER_TIMEOUT_MS = 2000;

export class WebRtcUnavailable extends Error {}

/**
 * Places a call; resolves once the connection is up. Rejects with WebRtcUnavailable when a peer
 * connection cannot be made (no WebRTC, no route, ICE failed): the caller may fall back. Other
 * rejections (a refused token, a bad number) are answers to show, not reasons to fall back.
 */
export async function openWebRtcCall({ token, callerNumber, onMessage, onClose, meter }) {
  if (typeof RTCPeerConnection !== 'function') throw new WebRtcUnavailable('this browser has no RTCPeerConnection');
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  });
  const pc = new RTCPeerConnection();
  const channel = pc.createDataChannel('events');
  for (const track of stream.getAudioTracks()) pc.addTrack(track, stream);
  const player = new Audio();
  player.autoplay = true;
  let level;
  pc.addEventListener('track', (event) => {
    const remote = event.streams[0] ?? new MediaStream([event.track]);
    // Chrome feeds a remote track to WebAudio only while a media element plays it.
    player.srcObject = remote;
    void player.play().catch(() => undefined);
    level = watchLevel(remote, meter);
  });
  let closed = false;
  const close = (reason) => {
    if (closed) return;
    closed = true;
    level?.stop();
    for (const track of stream.getTracks()) track.stop();
    player.srcObject = null;
    pc.close();
    onClose(reason);
  };
  channel.addEventListener('message', (event) => {
    if (typeof event.data === 'string') onMessage(JSON.parse(event.data));
  });

  try {
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    let response;
    try {
      response = await fetch('/webrtc/offer', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token === '' ? {} : { authorization: `Bearer ${token}` }) },
        body: JSON.stringify({ sdp: pc.localDescription.sdp, type: 'offer', ...(callerNumber === '' ? {} : { callerNumber }) }),
      });
    } catch (error) {
      throw new WebRtcUnavailable(`the offer could not be sent (${error.message})`);
    }
    const body = await response.json().catch(() => ({}));
    if (response.status === 404 || response.status === 503) throw new WebRtcUnavailable(body.message ?? `the server answered ${response.status}`);
    if (!response.ok) throw new Error(body.message ?? `the offer was refused (${response.status})`);
    await pc.setRemoteDescription({ type: 'answer', sdp: body.sdp });
    await connected(pc);
  } catch (error) {
    closed = true;
    level?.stop();
    for (const track of stream.getTracks()) track.stop();
    pc.close();
    throw error;
  }
  pc.addEventListener('connectionstatechange', () => {
    if (pc.connectionState === 'failed' || pc.connectionState === 'closed') close(`connection ${pc.connectionState}`);
  });
  channel.addEventListener('close', () => close('events channel closed'));

  return {
    kind: 'webrtc',
    isOpen: () => !closed && channel.readyState === 'open',
    send(message) {
      if (!closed && channel.readyState === 'open') channel.send(JSON.stringify(message));
    },
    close: () => close('hung up'),
  };
}

function gathered(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => pc.iceGatheringState === 'complete' && done();
    const timer = setTimeout(done, GATHER_TIMEOUT_MS);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

function connected(pc) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(`no connection within ${CONNECT_TIMEOUT_MS / 1000} s`), CONNECT_TIMEOUT_MS);
    const check = () => {
      if (pc.connectionState === 'connected') {
        clearTimeout(timer);
        pc.removeEventListener('connectionstatechange', check);
        resolve();
      } else if (pc.connectionState === 'failed') fail('ICE failed');
    };
    const fail = (reason) => {
      clearTimeout(timer);
      pc.removeEventListener('connectionstatechange', check);
      reject(new WebRtcUnavailable(reason));
    };
    pc.addEventListener('connectionstatechange', check);
    check();
  });
}

/** A level meter of the agent's audio; its loudest level so far stays in `data-peak` (0..1). */
function watchLevel(stream, meter) {
  if (meter === undefined) return undefined;
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  analyser.fftSize = 1024;
  context.createMediaStreamSource(stream).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  let peak = 0;
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    const rms = Math.sqrt(sum / samples.length);
    peak = Math.max(peak, rms);
    meter.value = Math.min(1, rms * 4);
    meter.dataset.peak = peak.toFixed(4);
  }, 50);
  void context.resume();
  return {
    stop() {
      clearInterval(timer);
      void context.close();
    },
  };
}
