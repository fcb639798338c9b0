/**
 * The README's benchmark tables say what `bench/results/` holds. A bench re-run whose figures do
 * not reach the README fails here: session 5's barge-in row kept an old figure while the JSON
 * beside it said 20 ms more, and the latency table's other rows once stayed a run behind theirs.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8').split('\n');

interface Summary {
  median: number;
  p95: number;
  p99: number;
  max: number;
}

function results(name: string): Record<string, any> {
  return JSON.parse(readFileSync(new URL(`../bench/results/${name}.json`, import.meta.url), 'utf8')) as Record<string, any>;
}

/** The README table row whose first cell starts with `label`. */
function row(label: string): string {
  const line = README.find((l) => l.startsWith(`| ${label}`));
  if (line === undefined) throw new Error(`no README row starts with "| ${label}"`);
  return line;
}

const ms = (value: number): string => value.toFixed(1);
/** "| median | p95 | p99 |" as the latency table shows a summary. */
const cells = (s: Summary): string => `| ${ms(s.median)} | ${ms(s.p95)} | ${ms(s.p99)} |`;

describe("the README's benchmark figures are the committed results'", () => {
  it('latency (bench/results/latency.json)', () => {
    const latency = results('latency');
    expect(row('greeting, media-stream start → first audio')).toContain(cells(latency.greetingMs.fromStreamStart));
    expect(row('plain turn, voice-to-voice')).toContain(cells(latency.plainTurn.voiceToVoiceMs));
    expect(row('plain turn, overhead')).toContain(cells(latency.plainTurn.overheadMs));
    expect(row('tool turn, overhead')).toContain(cells(latency.toolTurn.overheadMs));
    expect(row('tool call → filler audio')).toContain(cells(latency.toolTurn.toolCallToFillerMs));
    expect(row('barge-in → `clear`')).toContain(cells(latency.bargeInToClearMs.raw));
  });

  it('memory (bench/results/memory.json)', () => {
    const memory = results('memory');
    expect(row('heap per live call; growth over 1,000 sequential calls')).toContain(
      `| ${Math.round(memory.heapPerLiveCall.heapPerCallKB)} KB; +${memory.heapGrowthMB.toFixed(2)} MB`,
    );
  });

  it('WebRTC beside Twilio (bench/results/webrtc.json)', () => {
    const w = results('webrtc');
    const legs = ['twilio', 'browserSocket', 'webrtc'];
    /** "median / p95" for each leg, in the table's column order. */
    const pairs = (field: Record<string, Summary>): string[] => legs.map((leg) => `${ms(field[leg]!.median)} / ${ms(field[leg]!.p95)}`);
    const inOrder = (line: string, parts: string[]): void => {
      let from = 0;
      for (const part of parts) {
        const at = line.indexOf(part, from);
        expect(at, `"${part}" in "${line}"`).toBeGreaterThanOrEqual(0);
        from = at + part.length;
      }
    };
    inOrder(row('plain turn, voice-to-voice, median / p95'), pairs(w.voiceToVoiceMs));
    inOrder(row('overhead (− injected 650 ms and 300 ms endpointing)'), pairs(w.overheadMs));
    inOrder(row('...of which inbound: STT final after speech end'), legs.map((leg) => `| ${ms(w.sttFinalAfterSpeechEndMs[leg].median)} (`));
    inOrder(row('server CPU per call'), legs.map((leg) => `| ${(w.cpuPercentOfCorePerCall[leg] as number).toFixed(2)} (`));
  });

  it('load (bench/results/load.json, load-workers-1.json)', () => {
    /** A figure as the README rounds it: within half its last shown digit of the JSON's. */
    const near = (shown: string, value: number, what: string): void => {
      const digits = shown.split('.')[1]?.length ?? 0;
      expect(Math.abs(Number.parseFloat(shown) - value), `${what}: README ${shown}, JSON ${value}`).toBeLessThanOrEqual(0.5 * 10 ** -digits + 1e-9);
    };
    for (const name of ['load', 'load-workers-1']) {
      const load = results(name);
      const workers = load.workers === '1' ? '1' : `auto (${load.workers})`;
      for (const step of load.results) {
        const what = `${name}, ${step.calls} calls`;
        const line = README.map((l) => l.replaceAll('**', '')).find((l) => l.startsWith(`| ${step.calls} | ${workers} |`));
        expect(line, what).toBeDefined();
        const [gaps, p99, cpu, perCall, others, loadAverage, pass] = line!.split('|').slice(3, 10).map((cell) => cell.trim());
        const heard = step.heard;
        expect(gaps, what).toBe(heard.callsWithAudibleGaps === 0 ? '0' : `${heard.callsWithAudibleGaps} (${heard.audibleGaps}, ${Math.round(heard.longestGapMs)} ms)`);
        near(p99!.replace(' ms', ''), step.server.worstEventLoopP99Ms, `${what}, event-loop p99`);
        near(cpu!.replace(' %', ''), step.server.cpuPercentOfOneCore, `${what}, server CPU`);
        const [all, marginal] = perCall!.match(/[\d.]+/g)!;
        near(all!, step.server.cpuPercentOfOneCorePerCall, `${what}, CPU per call`);
        near(marginal!, step.server.marginalCpuPercentOfOneCorePerCall, `${what}, CPU per call over idle`);
        const [emulators, callers] = others!.match(/[\d.]+/g)!;
        near(emulators!, step.otherProcesses.emulatorsCpuPercent, `${what}, emulators' CPU`);
        near(callers!, step.otherProcesses.callersCpuPercent, `${what}, callers' CPU`);
        near(loadAverage!, step.machineLoadAverage1m, `${what}, load average`);
        expect(pass, what).toBe(step.pass ? 'yes' : 'no');
      }
    }
  });

  it('turn-taking sweep (bench/results/turn-taking-sweep.json, and before the onset rule)', () => {
    const now = results('turn-taking-sweep').speechOnsetToPause;
    const before = results('turn-taking-sweep-before-onset-rule').speechOnsetToPause;
    const line = README.join(' ').replace(/\s+/g, ' ');
    expect(line).toContain(
      `median ${before.delayMs.median} → ${now.delayMs.median} ms, p95 ${before.delayMs.p95} → ${now.delayMs.p95} ms, ${before.within300ms} → ${now.within300ms} of ${now.runs} within 300 ms`,
    );
    const noise = results('turn-taking-sweep').noise;
    expect(line).toContain(`(${noise.runs} runs), pauses the agent exactly as before: in the same ${noise.pauses} runs`);
    expect(results('turn-taking-sweep-before-onset-rule').noise.byKind).toEqual(noise.byKind);
  });

  it('turn-taking (bench/results/turn-taking.json)', () => {
    const t = results('turn-taking');
    const speech = t.interruption.delayMs as Summary;
    expect(row('speech onset → `clear` at the caller')).toContain(
      `median ${ms(speech.median)} ms, p95 ${ms(speech.p95)} ms, max ${ms(speech.max)} ms; ${t.interruption.within300ms} of ${t.interruption.clips} within 300 ms`,
    );
    expect(row('...stopped by the VAD before the STT had a word')).toContain(`${t.interruption.stoppedByVadBeforeAnyWord} of ${t.interruption.clips}`);
    const alone = t.interruptionByVadAlone.delayMs as Summary;
    expect(row('speech onset → pause by the VAD alone')).toContain(
      `median ${alone.median} ms, p95 ${alone.p95} ms, max ${alone.max} ms; ${t.interruptionByVadAlone.within300ms} of ${t.interruptionByVadAlone.runs} within 300 ms`,
    );
    // The before-column: session 7's code on the same bench.
    const before = results('turn-taking-before-onset-rule');
    const beforeSpeech = before.interruption.delayMs as Summary;
    expect(row('speech onset → `clear` at the caller')).toContain(
      `| ${ms(beforeSpeech.median)}, ${ms(beforeSpeech.p95)}, ${ms(beforeSpeech.max)} ms; ${before.interruption.within300ms} of ${before.interruption.clips}`,
    );
    const beforeAlone = before.interruptionByVadAlone.delayMs as Summary;
    expect(row('speech onset → pause by the VAD alone')).toContain(
      `| ${beforeAlone.median}, ${beforeAlone.p95}, ${beforeAlone.max} ms; ${before.interruptionByVadAlone.within300ms} of ${before.interruptionByVadAlone.runs}`,
    );
    const noise = t.falseInterruptions;
    expect(row('false interruptions over the noise corpus')).toContain(`${noise.clears} \`clear\`s, ${noise.newTurns} turns in ${noise.noiseClips} clips`);
    const withWords = t.backchannels.withWords.silentMs as Summary;
    expect(row('backchannels over the agent, the STT has their words')).toContain(
      `stop for ${Math.round(withWords.median)} ms median, ${Math.round(withWords.max)} ms max`,
    );
    const withoutWords = t.backchannels.withoutWords.silentMs as Summary;
    expect(row('...the STT has no words for them')).toContain(`${Math.round(withoutWords.median)} ms median, ${Math.round(withoutWords.max)} ms max`);
    const cpu = (scenario: string): Summary => t.vadCpu[scenario].percentOfOneCorePerCall as Summary;
    expect(row('VAD CPU per call, quiet line')).toContain(`median ${cpu('quiet line, agent talks half the call').median.toFixed(3)} %`);
    expect(row('VAD CPU per call, engine noise throughout')).toContain(`median ${cpu('engine throughout, agent talks half the call').median.toFixed(3)} %`);
    expect(row('VAD CPU per call, engine noise, model on')).toContain(`median ${cpu('engine throughout, VAD on all call (bound)').median.toFixed(3)} %`);
  });
});
