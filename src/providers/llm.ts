/**
 * Streaming chat completion with tools. Messages use the OpenAI chat shape, which every vendor we
 * might add can be mapped to. One `stream` call is one model response: text deltas as they come,
 * then the tool calls (assembled from their deltas) if the model asked for any.
 */
import type { LlmTool, ToolCall } from '../core/tool-port.js';

export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: ToolCallRequest[] }
  | { role: 'tool'; tool_call_id: string; content: string };

export interface ToolCallRequest {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** The tools a request offers are the tool port's (core): the pipeline passes them through. */
export type { LlmTool };

export type LlmEvent =
  | { type: 'text'; delta: string }
  /** All tool calls of this response, complete (arguments are the raw JSON text). */
  | { type: 'tool_calls'; calls: ToolCall[] }
  | { type: 'done'; finishReason: string | null };

export interface LlmRequest {
  messages: readonly ChatMessage[];
  tools: readonly LlmTool[];
  signal: AbortSignal;
}

export interface LlmProvider {
  readonly name: string;
  /** Throws a ProviderError (retryable or not) when the request fails before or during the stream. */
  stream(request: LlmRequest): AsyncIterable<LlmEvent>;
}
