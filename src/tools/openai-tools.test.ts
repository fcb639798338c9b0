import type { ChatCompletionTool } from 'openai/resources/chat/completions';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ALL_TOOLS } from './index.js';
import { toOpenAiTools } from './openai-tools.js';
import { defineTool, ok, type AnyTool } from './tool.js';

const execute = async (): Promise<ReturnType<typeof ok>> => ok(null, 'ok');

const lookup = defineTool({
  name: 'lookup_customer',
  description: 'Find the customer by phone number.',
  parameters: z.object({
    phone_number: z.string().describe("Defaults to the caller's number.").optional(),
  }),
  execute,
});

const slots = defineTool({
  name: 'get_available_slots',
  description: 'Free appointment slots on a day.',
  parameters: z.object({
    date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).describe('The day, YYYY-MM-DD, shop-local.'),
    duration_minutes: z.number().int().min(15).max(480).default(60).describe('How long the service takes.'),
  }),
  execute,
});

const book = defineTool({
  name: 'book_appointment',
  description: 'Book a service appointment.',
  parameters: z.object({
    customer_id: z.uuid().describe('From lookup_customer.'),
    service_type: z.enum(['oil_change', 'tire_rotation', 'inspection']).describe('What to do.'),
    mileage: z.number().int().positive().optional(),
    notes: z.string().max(500).nullable(),
  }),
  mutates: true,
  execute,
});

const endCall = defineTool({ name: 'end_call', description: 'Hang up.', parameters: z.object({}), filler: null, execute });

const SAMPLE: readonly AnyTool[] = [lookup, slots, book, endCall] as unknown as readonly AnyTool[];

function walk(node: unknown, visit: (key: string, value: unknown) => void): void {
  if (Array.isArray(node)) node.forEach((item) => walk(item, visit));
  else if (typeof node === 'object' && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      visit(key, value);
      walk(value, visit);
    }
  }
}

/** The checks every generated tool must pass, whatever its schema. */
function expectWellFormed(tools: ChatCompletionTool[]): void {
  const names = new Set<string>();
  for (const tool of tools) {
    expect(tool.type).toBe('function');
    if (tool.type !== 'function') continue;
    const { name, description, parameters } = tool.function;
    expect(name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
    expect(names.has(name)).toBe(false);
    names.add(name);
    expect(typeof description).toBe('string');
    expect(description?.length).toBeGreaterThan(0);
    expect(parameters).toMatchObject({ type: 'object', additionalProperties: false });
    expect(typeof parameters?.properties).toBe('object');
    const required = parameters?.required;
    if (required !== undefined) {
      expect(Array.isArray(required)).toBe(true);
      for (const key of required as string[]) expect(Object.keys(parameters?.properties as object)).toContain(key);
    }
    walk(parameters, (key) => {
      expect(['$schema', '$ref', '$defs', '$id', 'definitions']).not.toContain(key);
    });
    expect(JSON.parse(JSON.stringify(tool))).toEqual(tool);
  }
}

describe('toOpenAiTools', () => {
  it('produces ChatCompletionTool entries from the zod parameters', () => {
    // Assigning to the SDK's own type is the compile-time half of this test.
    const tools: ChatCompletionTool[] = toOpenAiTools(SAMPLE);
    expect(tools.map((t) => (t.type === 'function' ? t.function.name : t.custom.name))).toEqual([
      'lookup_customer',
      'get_available_slots',
      'book_appointment',
      'end_call',
    ]);
    expectWellFormed(tools);
  });

  it('lists exactly the fields the LLM must send as required, keeping descriptions and bounds', () => {
    const [lookupTool, slotsTool, bookTool, endTool] = toOpenAiTools(SAMPLE);

    expect(lookupTool?.function).toEqual({
      name: 'lookup_customer',
      description: 'Find the customer by phone number.',
      parameters: {
        type: 'object',
        properties: { phone_number: { type: 'string', description: "Defaults to the caller's number." } },
        additionalProperties: false,
      },
    });

    // A field with a default is optional to the LLM, which writes the input side of the schema.
    expect(slotsTool?.function.parameters).toEqual({
      type: 'object',
      properties: {
        date: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'The day, YYYY-MM-DD, shop-local.' },
        duration_minutes: {
          type: 'integer',
          minimum: 15,
          maximum: 480,
          default: 60,
          description: 'How long the service takes.',
        },
      },
      required: ['date'],
      additionalProperties: false,
    });

    const bookParams = bookTool?.function.parameters as { properties: Record<string, unknown>; required: string[] };
    expect(bookParams.required.sort()).toEqual(['customer_id', 'notes', 'service_type']);
    expect(bookParams.properties.customer_id).toEqual({ type: 'string', format: 'uuid', description: 'From lookup_customer.' });
    expect(bookParams.properties.service_type).toEqual({
      type: 'string',
      enum: ['oil_change', 'tire_rotation', 'inspection'],
      description: 'What to do.',
    });
    // .int() adds Number.MAX_SAFE_INTEGER as a maximum: noise to the model, so it is dropped.
    expect(bookParams.properties.mileage).toEqual({ type: 'integer', exclusiveMinimum: 0 });
    // zod writes a bare nullable as type: [x, 'null'], but one with constraints as anyOf.
    expect(bookParams.properties.notes).toEqual({ anyOf: [{ type: 'string', maxLength: 500 }, { type: 'null' }] });

    expect(endTool?.function.parameters).toEqual({ type: 'object', properties: {}, additionalProperties: false });
  });

  it('inlines a shared schema that zod would emit as a $ref', () => {
    const money = z.number().min(0).meta({ id: 'money_for_openai_tools_test' });
    const tool = defineTool({
      name: 'quote',
      description: 'Quote.',
      parameters: z.object({ low: money, high: money.optional() }),
      execute,
    });
    const [quote] = toOpenAiTools([tool as unknown as AnyTool]);
    expect(quote?.function.parameters).toEqual({
      type: 'object',
      properties: { low: { type: 'number', minimum: 0 }, high: { type: 'number', minimum: 0 } },
      required: ['low'],
      additionalProperties: false,
    });
  });

  it('refuses duplicate names, bad names and schemas JSON cannot express', () => {
    expect(() => toOpenAiTools([lookup, lookup] as unknown as AnyTool[])).toThrow(/more than one tool/);
    const badName = { ...(endCall as unknown as AnyTool), name: 'end call' };
    expect(() => toOpenAiTools([badName])).toThrow(/not a valid function name/);
    const dated = defineTool({ name: 'dated', description: 'D.', parameters: z.object({ at: z.date() }), execute });
    expect(() => toOpenAiTools([dated as unknown as AnyTool])).toThrow(/cannot be expressed/);
  });
});

describe('toOpenAiTools with ALL_TOOLS', () => {
  it('builds a well-formed, JSON-safe list from src/tools/index.ts', () => {
    const tools: ChatCompletionTool[] = toOpenAiTools(ALL_TOOLS);
    expect(tools.length).toBe(ALL_TOOLS.length);
    expectWellFormed(tools);
  });
});
