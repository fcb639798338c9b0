/**
 * Runs every bench, one after another (never two at once: they would measure each other), each
 * in its own process, and prints one JSON object with all their results.
 *
 *   tsx bench/run-all.ts [--quick]     (--quick: fewer calls and shorter load steps)
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { log, machine } from './support/stats.js';

const quick = process.argv.includes('--quick');
const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

const benches: Array<{ name: string; args: string[]; timeoutMs: number }> = [
  { name: 'hot-path', args: [here('./hot-path.ts'), ...(quick ? ['--runs', '5', '--iterations', '50000'] : [])], timeoutMs: 5 * 60_000 },
  { name: 'latency', args: [here('./latency.ts'), '--calls', quick ? '5' : '30'], timeoutMs: 12 * 60_000 },
  { name: 'memory', args: [here('./memory.ts'), ...(quick ? ['--calls', '200'] : [])], timeoutMs: 8 * 60_000 },
  { name: 'load', args: [here('./load.ts'), ...(quick ? ['--steps', '50,100', '--step-ms', '10000'] : [])], timeoutMs: 8 * 60_000 },
  { name: 'turn-taking', args: [here('./turn-taking.ts'), ...(quick ? ['--quick'] : [])], timeoutMs: 15 * 60_000 },
  { name: 'turn-taking-sweep', args: [here('./turn-taking-sweep.ts')], timeoutMs: 5 * 60_000 },
  { name: 'webrtc', args: [here('./webrtc.ts'), ...(quick ? ['--calls', '3', '--window', '5'] : [])], timeoutMs: 8 * 60_000 },
];

function run(args: string[], timeoutMs: number): Promise<unknown> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(out));
      } catch {
        resolve({ error: `exited ${String(code)} without JSON`, stdout: out.slice(0, 500) });
      }
    });
  });
}

const results: Record<string, unknown> = {};
for (const bench of benches) {
  log(`running ${bench.name}...`);
  results[bench.name] = await run(bench.args, bench.timeoutMs);
}
process.stdout.write(`${JSON.stringify({ bench: 'all', quick, machine: machine(), results }, null, 2)}\n`);
