// The harness page: one call at a time. Voice goes over WebRTC (POST /webrtc/offer, webrtc.js) when
// the server offers it, else, or when no peer connection can be made, over /harness/ws; typed calls
// use the socket. Both carry the same messages (src/transports/browser/serializer.ts).
import { createMicrophone, createPlayer } from './audio.js';
import { openWebRtcCall, WebRtcUnavailable } from './webrtc.js';
import { renderWaterfall } from './waterfall.js';

const $ = (id) => document.getElementById(id);
const voiceAvailable = document.body.dataset.voiceAvailable === 'true';
const tokenRequired = document.body.dataset.tokenRequired === 'true';
const webrtcAvailable = document.body.dataset.webrtcAvailable === 'true';

const ui = {
  form: $('call-form'),
  call: $('call'),
  hangup: $('hangup'),
  callerNumber: $('caller-number'),
  tokenField: $('token-field'),
  token: $('token'),
  status: $('status'),
  transcript: $('transcript'),
  sayForm: $('say-form'),
  say: $('say'),
  send: $('send'),
  waterfalls: $('waterfalls'),
  agentLevel: $('agent-level'),
  agentLevelLabel: $('agent-level-label'),
};

/** The live call, or undefined between calls. */
let call;

setUp();

function setUp() {
  if (!voiceAvailable) {
    for (const radio of document.querySelectorAll('input[name="mode"]')) {
      radio.checked = radio.value === 'text';
      radio.disabled = true;
    }
    setStatus('Typed calls only: this server has no speech-to-text configured.');
  }
  if (tokenRequired) {
    ui.tokenField.hidden = false;
    // A token in the fragment (#token=...) never reaches the server's logs; keep it for this tab only.
    const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
    if (fromHash) {
      sessionStorage.setItem('harness-token', fromHash);
      history.replaceState(null, '', location.pathname + location.search);
    }
    ui.token.value = sessionStorage.getItem('harness-token') ?? '';
  }
  ui.form.addEventListener('submit', (event) => {
    event.preventDefault();
    void startCall();
  });
  ui.hangup.addEventListener('click', () => hangUp());
  ui.sayForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = ui.say.value.trim();
    if (text === '' || call?.started !== true) return;
    send({ type: 'text', text });
    ui.say.value = '';
  });
}

async function startCall() {
  if (call !== undefined) return;
  const mode = voiceAvailable ? document.querySelector('input[name="mode"]:checked').value : 'text';
  ui.transcript.replaceChildren();
  ui.waterfalls.replaceChildren();
  setStatus('Connecting…');
  ui.call.disabled = true;
  ui.hangup.disabled = false;

  // Created inside the click, so the browser lets it play sound.
  const context = new AudioContext();
  await context.resume();
  call = { context, mode, started: false, ended: false, audio: false, mic: undefined, player: undefined, socket: undefined, rtc: undefined, via: 'WebSocket' };
  call.player = createPlayer(context, (name) => send({ type: 'mark', name }));
  const token = tokenRequired ? ui.token.value.trim() : '';
  if (token !== '') sessionStorage.setItem('harness-token', token);
  const callerNumber = ui.callerNumber.value.trim();

  if (mode === 'voice' && webrtcAvailable) {
    const current = call;
    try {
      ui.agentLevelLabel.hidden = false;
      current.rtc = await openWebRtcCall({
        token,
        callerNumber,
        meter: ui.agentLevel,
        onMessage: (message) => {
          if (call === current) onMessage(message);
        },
        onClose: (reason) => {
          if (call !== current) return;
          if (!current.ended) setStatus(`Disconnected (${reason})`, 'error');
          cleanUp();
        },
      });
      current.via = 'WebRTC';
      return;
    } catch (error) {
      if (call !== current) return;
      current.rtc = undefined;
      ui.agentLevelLabel.hidden = true;
      if (!(error instanceof WebRtcUnavailable)) {
        notice(error.message, 'error');
        setStatus('Refused: see the message above.', 'error');
        cleanUp();
        return;
      }
      notice(`WebRTC unavailable (${error.message}): voice goes over the WebSocket instead.`);
    }
  }

  if (call.mode === 'voice') {
    try {
      call.mic = await createMicrophone(context, (chunk) => {
        if (call?.started && call.mode === 'voice') sendBinary(chunk);
      });
    } catch (error) {
      notice(`Microphone unavailable (${error.message}); continuing as a typed call.`, 'error');
      call.mode = 'text';
    }
  }

  call.socket = openSocket(token);
  call.socket.addEventListener('open', () => {
    send({ type: 'start', mode: call.mode, ...(callerNumber === '' ? {} : { callerNumber }) });
  });
  call.socket.addEventListener('message', (event) => {
    if (typeof event.data === 'string') onMessage(JSON.parse(event.data));
    else if (call?.audio) call.player.enqueue(event.data);
  });
  call.socket.addEventListener('close', (event) => {
    if (call === undefined) return;
    if (event.code === 1008 && event.reason === 'invalid_token') setStatus('Refused: the harness token is missing or wrong.', 'error');
    else if (event.code === 1008) setStatus(`Refused (${event.reason || 'policy'}): see the message above.`, 'error');
    else if (!call.ended) setStatus(`Disconnected (${event.code}${event.reason ? `: ${event.reason}` : ''})`, 'error');
    cleanUp();
  });
}

function openSocket(token) {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/harness/ws`;
  let socket;
  try {
    // The token rides as the second subprotocol, so it stays out of URLs and access logs.
    socket = token === '' ? new WebSocket(url) : new WebSocket(url, ['harness', token]);
  } catch {
    // A token with characters a subprotocol may not carry goes in the query instead.
    socket = new WebSocket(`${url}?token=${encodeURIComponent(token)}`);
  }
  socket.binaryType = 'arraybuffer';
  return socket;
}

function onMessage(message) {
  switch (message.type) {
    case 'started':
      call.started = true;
      call.audio = message.audio;
      call.mode = message.mode;
      if (message.mode === 'text') call.mic?.stop();
      setStatus(`On a call (${message.callId}, ${message.mode === 'voice' ? `voice over ${call.via}: speak, or type` : 'typed'})`, 'live');
      if (!message.audio) notice('The agent will answer in text only (no TTS configured).');
      ui.say.disabled = false;
      ui.send.disabled = false;
      ui.say.focus();
      return;
    case 'mark':
      call.player.mark(message.name);
      return;
    case 'clear':
      call.player.clear();
      return;
    case 'event':
      onEvent(message.event);
      return;
    case 'ended':
      call.ended = true;
      setStatus(`Call ended (${message.reason})`);
      return;
    case 'error':
      notice(message.message, 'error');
      return;
  }
}

function onEvent(event) {
  switch (event.type) {
    case 'user_transcript': {
      // Interim results rewrite the caller's line until the agent starts answering it.
      call.callerLine ??= line('caller', 'Caller');
      call.callerLine.querySelector('.text').textContent = event.text;
      call.callerLine.classList.toggle('interim', !event.final);
      break;
    }
    case 'agent_text': {
      call.callerLine = undefined;
      // One bubble per agent turn: sentences join the turn's bubble while nothing came between.
      const last = ui.transcript.lastElementChild;
      if (last?.classList.contains('agent') && last.dataset.turn === String(event.turn) && !last.classList.contains('interrupted')) {
        const body = last.querySelector('.text');
        body.textContent = `${body.textContent.trimEnd()} ${event.text.trimStart()}`;
        last.scrollIntoView({ block: 'nearest' });
        break;
      }
      const item = line('agent', 'Agent', event.text);
      item.dataset.turn = String(event.turn);
      break;
    }
    case 'agent_interrupted': {
      call.callerLine = undefined;
      markUnheard(event.turn, event.heard);
      break;
    }
    case 'tool_call': {
      call.callerLine = undefined;
      const item = line('tool', `Tool call: ${event.name}`);
      item.dataset.toolId = event.id;
      item.querySelector('.text').replaceChildren(pre(prettyJson(event.arguments), 'arguments'), pre('…running', 'result'));
      break;
    }
    case 'tool_result': {
      const item = ui.transcript.querySelector(`li.tool[data-tool-id="${CSS.escape(event.id)}"]`) ?? line('tool', `Tool result: ${event.name}`);
      const result = item.querySelector('.result') ?? item.appendChild(pre('', 'result'));
      result.textContent = `→ ${event.durationMs} ms\n${prettyJson(event.result)}`;
      result.classList.toggle('failed', event.result?.success === false);
      break;
    }
    case 'latency':
      ui.waterfalls.prepend(renderWaterfall(event.turn, event.timeline));
      break;
    case 'call_ended':
      break;
  }
}

/** Strikes out what the caller did not hear of the turn's lines; `heard` is a prefix of their text. */
function markUnheard(turn, heard) {
  let remaining = heard.trim();
  for (const item of ui.transcript.querySelectorAll(`li.agent[data-turn="${turn}"]`)) {
    const body = item.querySelector('.text');
    const full = body.textContent;
    if (remaining !== '' && remaining.startsWith(full)) {
      remaining = remaining.slice(full.length).trimStart();
      continue;
    }
    const heardPart = remaining !== '' && full.startsWith(remaining) ? remaining : '';
    remaining = '';
    const unheard = document.createElement('del');
    unheard.className = 'unheard';
    unheard.textContent = full.slice(heardPart.length);
    body.replaceChildren(heardPart, unheard);
    item.classList.add('interrupted');
    item.querySelector('.who').textContent = 'Agent (interrupted: struck-out words were not heard)';
  }
}

function hangUp() {
  if (call === undefined) return;
  if (call.rtc !== undefined) {
    if (call.rtc.isOpen()) send({ type: 'stop' });
    else cleanUp();
    return;
  }
  if (call.socket?.readyState === WebSocket.OPEN) send({ type: 'stop' });
  else cleanUp();
}

function cleanUp() {
  if (call === undefined) return;
  call.mic?.stop();
  call.player?.close();
  call.rtc?.close();
  ui.agentLevelLabel.hidden = true;
  void call.context.close();
  if (call.socket !== undefined && call.socket.readyState <= WebSocket.OPEN) call.socket.close(1000);
  call = undefined;
  ui.call.disabled = false;
  ui.hangup.disabled = true;
  ui.say.disabled = true;
  ui.send.disabled = true;
}

function send(message) {
  if (call?.rtc !== undefined) call.rtc.send(message);
  else if (call?.socket?.readyState === WebSocket.OPEN) call.socket.send(JSON.stringify(message));
}

function sendBinary(chunk) {
  if (call?.socket?.readyState === WebSocket.OPEN) call.socket.send(chunk);
}

function line(kind, who, text = '') {
  const item = document.createElement('li');
  item.className = kind;
  const label = document.createElement('span');
  label.className = 'who';
  label.textContent = who;
  const body = document.createElement('span');
  body.className = 'text';
  body.textContent = text;
  item.append(label, body);
  ui.transcript.append(item);
  item.scrollIntoView({ block: 'nearest' });
  return item;
}

function notice(text, kind = '') {
  const item = document.createElement('li');
  item.className = `notice ${kind}`.trim();
  item.textContent = text;
  ui.transcript.append(item);
}

function pre(text, className) {
  const node = document.createElement('pre');
  node.className = className;
  node.textContent = text;
  return node;
}

function prettyJson(value) {
  try {
    const parsed = typeof value === 'string' ? JSON.parse(value) : value;
    const text = JSON.stringify(parsed, null, 2);
    return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
  } catch {
    return String(value);
  }
}

function setStatus(text, kind = '') {
  ui.status.textContent = text;
  ui.status.className = kind;
}
