import { describe, expect, it } from 'vitest';
import type { ChatMessage, LlmEvent, LlmTool } from '../providers/llm.js';
import { conversationState, createOfflineAssistant, OFFLINE_HELP, splitForStreaming } from './offline-assistant.js';

const ZONE = 'America/New_York';
// Wednesday, December 9, 2026, 10:00 in New York.
const NOW = new Date('2026-12-09T15:00:00Z');
const TOOL_NAMES = [
  'lookup_customer',
  'create_customer',
  'add_vehicle',
  'get_available_slots',
  'book_appointment',
  'cancel_appointment',
  'reschedule_appointment',
  'get_upcoming_appointments',
  'transfer_to_human',
  'end_call',
];
const TOOLS: LlmTool[] = TOOL_NAMES.map((name) => ({ type: 'function', function: { name } }));

function assistant(ids: number) {
  let n = 0;
  return createOfflineAssistant({ timeZone: ZONE, now: () => NOW, newToolCallId: () => `call_${ids}_${++n}` });
}

async function respond(messages: ChatMessage[], options: { tools?: LlmTool[]; signal?: AbortSignal } = {}) {
  const events: LlmEvent[] = [];
  for await (const event of assistant(1).stream({
    messages,
    tools: options.tools ?? TOOLS,
    signal: options.signal ?? new AbortController().signal,
  })) {
    events.push(event);
  }
  const text = events.flatMap((e) => (e.type === 'text' ? [e.delta] : [])).join('');
  const calls = events.flatMap((e) => (e.type === 'tool_calls' ? e.calls : []));
  return { events, text, calls: calls.map((c) => ({ name: c.name, args: JSON.parse(c.arguments) as Record<string, unknown> })) };
}

/** A conversation as the session would hold it: tool rounds with their JSON results. */
function conversation(...steps: Array<string | { say: string } | { call: string; args?: Record<string, unknown>; result: unknown }>): ChatMessage[] {
  const messages: ChatMessage[] = [{ role: 'system', content: 'prompt' }, { role: 'assistant', content: 'Thanks for calling. How can I help?' }];
  let id = 0;
  for (const step of steps) {
    if (typeof step === 'string') messages.push({ role: 'user', content: step });
    else if ('say' in step) messages.push({ role: 'assistant', content: step.say });
    else {
      id += 1;
      messages.push({
        role: 'assistant',
        content: null,
        tool_calls: [{ id: `t${id}`, type: 'function', function: { name: step.call, arguments: JSON.stringify(step.args ?? {}) } }],
      });
      messages.push({ role: 'tool', tool_call_id: `t${id}`, content: JSON.stringify(step.result) });
    }
  }
  return messages;
}

const DANA = {
  success: true,
  message: 'I found your account, Dana.',
  data: {
    found: true,
    customer: { id: 'cust-1', first_name: 'Dana' },
    vehicles: [{ id: 'veh-1', year: 2020, make: 'Toyota', model: 'Camry' }],
    upcoming_appointments: [
      { id: 'apt-1', service_type: 'Oil change', when: 'Thursday, December 10 at 9:00 AM', starts_at: '2026-12-10T09:00:00-05:00', vehicle_id: 'veh-1' },
      { id: 'apt-2', service_type: 'Brake service', when: 'Friday, December 11 at 1:00 PM', starts_at: '2026-12-11T13:00:00-05:00', vehicle_id: 'veh-1' },
    ],
  },
};

const FRIDAY = {
  success: true,
  message: 'On Friday, December 11 I can start you any time from 9:00 AM to 11:30 AM.',
  data: {
    date: '2026-12-11',
    date_label: 'Friday, December 11',
    closed: false,
    slots: ['09:00', '09:30', '10:00', '10:30', '11:00', '11:30'].map((t) => ({ start: `2026-12-11T${t}:00-05:00`, label: t })),
  },
};

describe('offline assistant (rule-based, no model)', () => {
  it.each([
    {
      name: 'looks the caller up on the first turn',
      messages: conversation('book an oil change tomorrow at 2 pm'),
      calls: [{ name: 'lookup_customer', args: {} }],
      text: '',
    },
    {
      name: 'asks for the account number when the caller number is unknown',
      messages: conversation('hi', { call: 'lookup_customer', result: { success: false, error: 'phone_number_required', message: 'x' } }),
      calls: [],
      text: "I can't see the number you're calling from. What phone number is your account under, and what's the last name on it?",
    },
    {
      name: 'looks up the number and last name the caller then gives',
      messages: conversation(
        'hi',
        { call: 'lookup_customer', result: { success: false, error: 'phone_number_required', message: 'x' } },
        { say: "I can't see the number you're calling from. What phone number is your account under, and what's the last name on it?" },
        "It's 555 123 4567, Reyes",
      ),
      calls: [{ name: 'lookup_customer', args: { phone_number: '5551234567', last_name: 'Reyes' } }],
      text: '',
    },
    {
      name: 'asks which appointment when there are several',
      messages: conversation('cancel my appointment', { call: 'lookup_customer', result: DANA }),
      calls: [],
      text:
        'I found your account, Dana. Which appointment would you like to cancel: an oil change on Thursday, December 10 at 9 AM ' +
        'or a brake service on Friday, December 11 at 1 PM?',
    },
    {
      name: 'confirms the one the caller picks',
      messages: conversation(
        'cancel my appointment',
        { call: 'lookup_customer', result: DANA },
        { say: 'Which appointment would you like to cancel: an oil change on Thursday or a brake service on Friday?' },
        'the brake one',
      ),
      calls: [],
      text: 'Shall I cancel your brake service on Friday, December 11 at 1 PM?',
    },
    {
      name: 'cancels on yes',
      messages: conversation(
        'cancel the brake service',
        { call: 'lookup_customer', result: DANA },
        { say: 'Shall I cancel your brake service on Friday, December 11 at 1 PM?' },
        'yes',
      ),
      calls: [{ name: 'cancel_appointment', args: { appointment_id: 'apt-2' } }],
      text: '',
    },
    {
      name: 'offers the first few open times of a day',
      messages: conversation("what's free on Friday?", { call: 'lookup_customer', result: DANA }, { call: 'get_available_slots', args: { date: '2026-12-11' }, result: FRIDAY }),
      calls: [],
      text: 'On Friday, December 11 I have 9 AM, 9:30 AM, and 10 AM open, and later times too. Which time works for you?',
    },
    {
      name: 'offers the nearest times when the one asked for is taken',
      messages: conversation('oil change Friday at 2 pm', { call: 'lookup_customer', result: DANA }, {
        call: 'get_available_slots',
        args: { date: '2026-12-11', service_type: 'Oil change' },
        result: FRIDAY,
      }),
      calls: [],
      text:
        "Sorry, 2 PM isn't available on Friday, December 11. The closest times I have are 10:30 AM, 11 AM, and 11:30 AM. " +
        'Which time works for you?',
    },
    {
      name: 'takes "no" to a booking as a wish for another time',
      messages: conversation(
        'oil change Friday at 9 am',
        { call: 'lookup_customer', result: DANA },
        { call: 'get_available_slots', args: { date: '2026-12-11', service_type: 'Oil change' }, result: FRIDAY },
        { say: 'Shall I book an oil change for your 2020 Toyota Camry on Friday, December 11 at 9 AM?' },
        'no',
      ),
      calls: [],
      text: 'No problem. On Friday, December 11 I have 9 AM, 9:30 AM, and 10 AM open, and later times too. Which time works for you?',
    },
    {
      name: 'hands over to a person when asked',
      messages: conversation('can I talk to a real person', { call: 'lookup_customer', result: DANA }),
      calls: [{ name: 'transfer_to_human', args: { reason: 'can I talk to a real person' } }],
      text: 'I found your account, Dana.',
    },
    {
      name: 'says goodbye and hangs up',
      messages: conversation('hi', { call: 'lookup_customer', result: DANA }, { say: 'How can I help you today?' }, 'nothing, bye'),
      calls: [{ name: 'end_call', args: {} }],
      text: 'Thanks for calling, goodbye!',
    },
    {
      name: 'explains itself when it understands nothing',
      messages: conversation('hi', { call: 'lookup_customer', result: DANA }, { say: 'How can I help you today?' }, 'what is the weather like'),
      calls: [],
      text: `Sorry, I didn't catch that. ${OFFLINE_HELP}`,
    },
  ])('$name', async ({ messages, calls, text }) => {
    const reply = await respond(messages);
    expect(reply.text).toBe(text);
    expect(reply.calls).toEqual(calls);
    expect(reply.events[reply.events.length - 1]).toEqual({ type: 'done', finishReason: calls.length > 0 ? 'tool_calls' : 'stop' });
  });

  it('is stateless: the same conversation always gets the same answer', async () => {
    const messages = conversation("what's free on Friday?", { call: 'lookup_customer', result: DANA });
    const first = await respond(messages);
    await respond(conversation('cancel my appointment'));
    const second = await respond(messages);
    expect(second.events).toEqual(first.events);
  });

  it('streams a reply in a few pieces', async () => {
    const reply = await respond(conversation('hi', { call: 'lookup_customer', result: DANA }));
    expect(reply.events.filter((e) => e.type === 'text').length).toBeGreaterThan(1);
    expect(splitForStreaming('one two three four five six', 3)).toEqual(['one two ', 'three four ', 'five six']);
    expect(splitForStreaming('')).toEqual([]);
  });

  it('calls only tools the session offers', async () => {
    const reply = await respond(conversation('hello'), { tools: [] });
    expect(reply.calls).toEqual([]);
    expect(reply.text).toBe(OFFLINE_HELP);
  });

  it('stops when the turn is aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('barge-in'));
    await expect(respond(conversation('hello'), { signal: controller.signal })).rejects.toThrow('barge-in');
  });

  it('reads a short answer by the question the planner asked, not by the words of the reply', async () => {
    const asked = conversation("what's free on Friday?", { call: 'lookup_customer', result: DANA }, {
      call: 'get_available_slots',
      args: { date: '2026-12-11' },
      result: FRIDAY,
    });
    // Whatever the context holds as the spoken reply (here a reworded one), "the second one" picks 9:30.
    const reworded = [...asked, { role: 'assistant', content: 'Pick one.' } as ChatMessage, { role: 'user', content: 'the second one' } as ChatMessage];
    const state = conversationState(reworded, { now: NOW, zone: ZONE });
    expect(state.phase).toMatchObject({ kind: 'offering' });
    expect(state.job.day).toEqual({ kind: 'date', date: '2026-12-11' });
    expect(state.job.time).toEqual({ kind: 'at', time: { hour: 9, minute: 30 } });
  });

  it('takes a reply cut off before any words as no question asked', () => {
    // The caller spoke while the tools ran: no reply reached them, so "the second one" picks nothing.
    const messages = conversation("what's free on Friday?", { call: 'lookup_customer', result: DANA }, {
      call: 'get_available_slots',
      args: { date: '2026-12-11' },
      result: FRIDAY,
    });
    const state = conversationState([...messages, { role: 'user', content: 'the second one' }], { now: NOW, zone: ZONE });
    expect(state.phase).toEqual({ kind: 'idle' });
    expect(state.job.time).toBeUndefined();
  });
});
