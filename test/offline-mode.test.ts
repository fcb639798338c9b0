/**
 * Offline mode as a newcomer meets it: `startApp` with an empty environment (no keys, embedded
 * database, local calendar), a typed conversation over the harness socket, and an appointment in
 * the local calendar at the end, with no accounts at all.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../src/config.js';
import { appointments, customers } from '../src/db/schema.js';
import { startApp } from '../src/main.js';
import type { RunningApp } from '../src/main.js';
import { createLogger } from '../src/observability/logger.js';

let running: RunningApp;
const logLines: string[] = [];

beforeAll(async () => {
  const config = loadConfig({ HOST: '127.0.0.1', PORT: '0', DATA_DIR: 'memory://' });
  running = await startApp(config, createLogger({ level: 'info', destination: { write: (l) => logLines.push(l) } }));
}, 60_000);
afterAll(async () => {
  await running?.stop();
});

describe('offline mode (no cloud keys)', () => {
  it('names the offline assistant in the logs', () => {
    expect(running.voice.llm).toBe('offline-assistant');
    expect(running.voice.stt).toMatch(/^none/);
    expect(logLines.join('')).toContain('offline scheduling assistant');
  });

  it('books an appointment from a typed conversation', async () => {
    const socket = new WebSocket(`${running.url.replace('http', 'ws')}/harness/ws`);
    const agent: string[] = [];
    let ended = false;
    socket.on('message', (data, isBinary) => {
      if (isBinary) return;
      const message = JSON.parse(String(data)) as { type: string; name?: string; event?: { type: string; text?: string } };
      if (message.type === 'mark') socket.send(JSON.stringify({ type: 'mark', name: message.name }));
      if (message.type === 'event' && message.event?.type === 'agent_text') agent.push(message.event.text ?? '');
      if (message.type === 'ended') ended = true;
    });
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    socket.send(JSON.stringify({ type: 'start', mode: 'text', callerNumber: '+15551234567' }));

    const said = () => agent.join(' ');
    const waitFor = async (pattern: RegExp, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(said())) {
        if (Date.now() > deadline) throw new Error(`agent never said ${pattern}; said: ${said()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const type = async (text: string, expectNext: RegExp) => {
      const before = agent.length;
      socket.send(JSON.stringify({ type: 'text', text }));
      const deadline = Date.now() + 10_000;
      while (!(agent.length > before && expectNext.test(agent.slice(before).join(' ')))) {
        if (Date.now() > deadline) throw new Error(`after "${text}" the agent said: ${agent.slice(before).join(' ')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };

    await waitFor(/Thanks for calling/);
    await type('Hi, I want to book an oil change next Tuesday at 2 pm', /name/i);
    await type('My name is Sam Lee', /vehicle|car|year/i);
    // The car is read back before it is saved, then the booking is confirmed.
    await type('I have a 2019 Honda Civic', /A 2019 Honda Civic, is that right\?/);
    await type('yes', /Shall I book an oil change for your 2019 Honda Civic/);
    await type('Yes please', /booked|all set|confirmed/i);

    const [customer] = await running.database.db.select().from(customers).where(eq(customers.phone, '+15551234567'));
    expect(customer).toMatchObject({ firstName: 'Sam', lastName: 'Lee' });
    const rows = await running.database.db.select().from(appointments).where(eq(appointments.customerId, customer!.id));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.serviceType).toBe('Oil change');

    socket.send(JSON.stringify({ type: 'text', text: "That's all, bye" }));
    const deadline = Date.now() + 10_000;
    while (!ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(ended).toBe(true);
    socket.close();
  }, 60_000);
});
