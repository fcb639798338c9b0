import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../test/support/cluster-udp-ports.ts', import.meta.url));

async function workerPorts(exclusive: boolean): Promise<number[][]> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', SCRIPT, ...(exclusive ? ['--exclusive'] : [])], {
    timeout: 20_000,
  });
  return stdout.trim().split('\n').map((line) => JSON.parse(line) as number[]);
}

describe('UDP sockets of cluster workers', () => {
  it("are shared between workers by Node's cluster unless bound exclusively (why this exists)", async () => {
    const [first, second] = await workerPorts(false);
    expect(first![0]).toBe(second![0]);
  });

  it('are each worker\'s own once binds are exclusive, whichever way bind is called', async () => {
    const [first, second] = await workerPorts(true);
    expect(first).toHaveLength(3);
    const all = [...first!, ...second!];
    expect(new Set(all).size).toBe(6);
  });
});
