/**
 * Turns our tool definitions into the `tools` array of an OpenAI chat completion request. The
 * JSON schema is generated from each tool's zod parameters, so what the LLM is told and what the
 * dispatcher accepts cannot drift apart.
 */
import type { ChatCompletionFunctionTool } from 'openai/resources/chat/completions';
import { z } from 'zod';
import type { AnyTool } from './tool.js';

type JsonSchema = Record<string, unknown>;

/** The shape OpenAI function calling wants for `parameters`. */
export interface ObjectParametersSchema {
  [key: string]: unknown;
  type: 'object';
  properties: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties: false;
}

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/**
 * Returns function tools (a subtype of `ChatCompletionTool`, so it can be passed as is) in the
 * order given. Throws on an invalid or duplicate name, or a schema that cannot be expressed as a
 * flat JSON object schema: better to fail at start-up than to confuse the model mid-call.
 */
const built = new WeakMap<readonly AnyTool[], ChatCompletionFunctionTool[]>();

/**
 * The OpenAI `tools` array for a tool list, built once per list: generating JSON Schema for every
 * tool took about a millisecond per call start, on the event loop every live call shares.
 */
export function toOpenAiTools(tools: readonly AnyTool[]): ChatCompletionFunctionTool[] {
  let out = built.get(tools);
  if (out === undefined) {
    out = buildOpenAiTools(tools);
    built.set(tools, out);
  }
  return out;
}

function buildOpenAiTools(tools: readonly AnyTool[]): ChatCompletionFunctionTool[] {
  const seen = new Set<string>();
  return tools.map((tool) => {
    if (!TOOL_NAME.test(tool.name)) {
      throw new Error(`tool name "${tool.name}" is not a valid function name (a-z, A-Z, 0-9, _ and -, at most 64)`);
    }
    if (seen.has(tool.name)) throw new Error(`tool name "${tool.name}" is used by more than one tool`);
    seen.add(tool.name);
    return {
      type: 'function',
      function: { name: tool.name, description: tool.description, parameters: toParametersSchema(tool) },
    };
  });
}

/** The JSON schema of one tool's parameters, as sent to the LLM. */
export function toParametersSchema(tool: Pick<AnyTool, 'name' | 'parameters'>): ObjectParametersSchema {
  let generated: JsonSchema;
  try {
    // 'input' because the LLM writes the input side: fields with a .default() are optional to it
    // (the 'output' view would list them as required).
    generated = z.toJSONSchema(tool.parameters, { io: 'input', unrepresentable: 'throw' }) as JsonSchema;
  } catch (error) {
    throw new Error(`tool "${tool.name}": parameters cannot be expressed as JSON schema`, { cause: error });
  }

  const defs = isRecord(generated.$defs) ? generated.$defs : {};
  const inlined = inlineRefs(generated, defs, tool.name, []);
  if (!isRecord(inlined) || inlined.type !== 'object' || !isRecord(inlined.properties)) {
    throw new Error(`tool "${tool.name}": parameters must be a JSON object schema`);
  }
  const properties: Record<string, JsonSchema> = {};
  for (const [key, value] of Object.entries(inlined.properties)) {
    if (!isRecord(value)) throw new Error(`tool "${tool.name}": property "${key}" has no schema`);
    properties[key] = tidy(value) as JsonSchema;
  }
  const required = Array.isArray(inlined.required) ? inlined.required.filter((k): k is string => typeof k === 'string') : [];

  // Built key by key so nothing else from the generator ($schema, $defs, a top-level description
  // that the tool description already covers) reaches the model.
  return required.length > 0
    ? { type: 'object', properties, required, additionalProperties: false }
    : { type: 'object', properties, additionalProperties: false };
}

/** Replaces `#/$defs/...` references with their definitions; a recursive schema is rejected. */
function inlineRefs(node: unknown, defs: Record<string, unknown>, toolName: string, stack: string[]): unknown {
  if (Array.isArray(node)) return node.map((item) => inlineRefs(item, defs, toolName, stack));
  if (!isRecord(node)) return node;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$defs' || key === '$schema' || key === '$id') continue;
    if (key === '$ref') {
      const match = typeof value === 'string' ? /^#\/\$defs\/(.+)$/.exec(value) : null;
      const name = match?.[1];
      if (name === undefined || !(name in defs)) {
        throw new Error(`tool "${toolName}": unsupported JSON schema reference ${String(value)}`);
      }
      if (stack.includes(name)) throw new Error(`tool "${toolName}": recursive parameter schema "${name}" is not supported`);
      const resolved = inlineRefs(defs[name], defs, toolName, [...stack, name]);
      if (isRecord(resolved)) Object.assign(out, resolved);
      continue;
    }
    out[key] = inlineRefs(value, defs, toolName, stack);
  }
  return out;
}

/**
 * Trims what zod adds but the model gains nothing from: the long regexes behind formats (uuid,
 * email, date-time; `format` already says it and zod checks the real thing) and the safe-integer
 * bounds of `.int()`. Nested objects get `additionalProperties: false` like the top level.
 */
function tidy(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(tidy);
  if (!isRecord(node)) return node;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'pattern' && typeof node.format === 'string') continue;
    if (key === 'maximum' && value === Number.MAX_SAFE_INTEGER) continue;
    if (key === 'minimum' && value === Number.MIN_SAFE_INTEGER) continue;
    out[key] = tidy(value);
  }
  if (out.type === 'object' && isRecord(out.properties) && out.additionalProperties === undefined) {
    out.additionalProperties = false;
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
