// One turn's latency as a waterfall picture (SVG). The timeline's marks are ms after the caller
// stopped speaking (typed turns: after the turn began); see src/pipeline/latency.ts.
const NS = 'http://www.w3.org/2000/svg';
const WIDTH = 600;
const LABEL_WIDTH = 150;
const VALUE_WIDTH = 64;
const ROW_HEIGHT = 22;
const TOP = 56;
const AXIS_HEIGHT = 24;

/** The spans worth seeing, in the order they happen; spans whose marks are missing are left out. */
export function waterfallRows(marks) {
  const rows = [];
  const add = (label, from, to, kind) => {
    if (to === undefined) return;
    rows.push({ label, from: Math.min(from ?? 0, to), to: Math.max(from ?? 0, to), kind });
  };
  add('speech end → STT final', 0, marks.stt_final, 'stt');
  add('LLM first token', marks.llm_request, marks.llm_first_token, 'llm');
  for (const [name, start] of Object.entries(marks)) {
    if (!name.startsWith('tool_start:')) continue;
    const tool = name.slice('tool_start:'.length);
    add(`tool ${tool}`, start, marks[`tool_end:${tool}`], 'tool');
  }
  add('TTS → reply audio', marks.tts_request, marks.first_reply_audio_out, 'tts');
  if (hasFiller(marks)) {
    // The caller heard the filler phrase ("Let me check the calendar.") before the reply.
    add('filler audio out', 0, marks.first_audio_out, 'filler');
    add('reply audio out', 0, marks.first_reply_audio_out, 'total');
  } else {
    add('first audio out', 0, marks.first_audio_out, 'total');
  }
  return rows;
}

export function renderWaterfall(turn, marks) {
  const rows = waterfallRows(marks);
  const values = rows.flatMap((row) => [row.from, row.to]);
  if (marks.turn_done !== undefined) values.push(marks.turn_done);
  const min = Math.min(0, ...values);
  const max = Math.max(1, ...values);
  const plotWidth = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
  const x = (ms) => LABEL_WIDTH + ((ms - min) / (max - min)) * plotWidth;
  const height = TOP + rows.length * ROW_HEIGHT + AXIS_HEIGHT;

  const svg = element('svg', { class: 'waterfall', viewBox: `0 0 ${WIDTH} ${height}`, role: 'img' });
  svg.dataset.turn = String(turn);
  const origin = marks.user_speech_end !== undefined ? 'speech end' : 'turn start';
  const firstAudio = marks.first_audio_out === undefined
    ? 'no audio'
    : hasFiller(marks)
      ? `filler ${marks.first_audio_out} ms, reply ${marks.first_reply_audio_out} ms`
      : `first audio ${marks.first_audio_out} ms`;
  const done = marks.turn_done === undefined ? '' : ` · done ${marks.turn_done} ms`;
  const title = `Turn ${turn} · ${firstAudio}${done}`;
  svg.setAttribute('aria-label', title);
  svg.append(text(title, 0, 16, 'title'));

  const bottom = TOP + rows.length * ROW_HEIGHT;
  const step = tickStep(max - min);
  for (let ms = Math.ceil(min / step) * step; ms <= max; ms += step) {
    svg.append(element('line', { class: 'grid', x1: x(ms), x2: x(ms), y1: TOP - 6, y2: bottom }));
    svg.append(text(`${ms}`, x(ms), bottom + 16, 'ms', 'middle'));
  }
  svg.append(element('line', { class: 'axis', x1: x(0), x2: x(0), y1: TOP - 14, y2: bottom }));
  svg.append(text(origin, x(0), TOP - 18, 'ms', 'middle'));

  rows.forEach((row, i) => {
    const y = TOP + i * ROW_HEIGHT;
    svg.append(text(row.label, LABEL_WIDTH - 8, y + 15, '', 'end'));
    const bar = element('rect', {
      class: `bar bar-${row.kind}`,
      x: x(row.from),
      y: y + 4,
      width: Math.max(2, x(row.to) - x(row.from)),
      height: ROW_HEIGHT - 8,
      rx: 2,
    });
    bar.append(element('title', {}, `${row.label}: ${row.from} → ${row.to} ms`));
    svg.append(bar);
    svg.append(text(`${row.to - row.from} ms`, x(row.to) + 6, y + 15, 'ms'));
  });
  return svg;
}

/** Something was heard before the reply itself: the filler spoken while tools ran. */
function hasFiller(marks) {
  return marks.first_audio_out !== undefined && marks.first_reply_audio_out !== undefined && marks.first_audio_out < marks.first_reply_audio_out;
}

/** A round tick spacing giving about five ticks. */
function tickStep(span) {
  const rough = span / 5;
  const power = 10 ** Math.floor(Math.log10(rough || 1));
  for (const factor of [1, 2, 5, 10]) if (power * factor >= rough) return power * factor;
  return power * 10;
}

function text(content, x, y, className, anchor = 'start') {
  return element('text', { x, y, class: className, 'text-anchor': anchor }, content);
}

function element(name, attributes, content) {
  const node = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attributes)) if (value !== '') node.setAttribute(key, String(value));
  if (content !== undefined) node.textContent = content;
  return node;
}
