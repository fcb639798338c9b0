/**
 * One call's conversation as the LLM sees it. The system prompt is not stored: it is rebuilt for
 * every request (today's date must be right). History is trimmed from the front at a user
 * message, so a tool call is never separated from its results.
 */
import type { ChatMessage, ToolCallRequest } from '../providers/llm.js';

export const INTERRUPTED_NOTE = ' [the caller interrupted here]';

export interface ChatContext {
  readonly messages: readonly ChatMessage[];
  addUser(text: string): void;
  /** Returns the index of the message, so an interrupted reply can be rewritten later. */
  addAssistant(text: string): number;
  addToolCalls(text: string | null, calls: ReadonlyArray<{ id: string; name: string; arguments: string }>): number;
  addToolResult(toolCallId: string, content: string): void;
  /**
   * The caller cut the reply off: keep only what they heard, and say so, so the model neither
   * repeats everything nor assumes the caller heard the rest.
   */
  rewriteInterrupted(index: number, heard: string): void;
  forRequest(systemPrompt: string): ChatMessage[];
}

export function createChatContext(options: { maxMessages?: number } = {}): ChatContext {
  const maxMessages = options.maxMessages ?? 60;
  const messages: ChatMessage[] = [];

  return {
    messages,
    addUser(text) {
      messages.push({ role: 'user', content: text });
    },
    addAssistant(text) {
      messages.push({ role: 'assistant', content: text });
      return messages.length - 1;
    },
    addToolCalls(text, calls) {
      const toolCalls: ToolCallRequest[] = calls.map((c) => ({
        id: c.id,
        type: 'function',
        function: { name: c.name, arguments: c.arguments },
      }));
      messages.push({ role: 'assistant', content: text, tool_calls: toolCalls });
      return messages.length - 1;
    },
    addToolResult(toolCallId, content) {
      messages.push({ role: 'tool', tool_call_id: toolCallId, content });
    },
    rewriteInterrupted(index, heard) {
      const message = messages[index];
      if (message === undefined || message.role !== 'assistant') return;
      const content = `${heard.trim()}${INTERRUPTED_NOTE}`.trim();
      messages[index] = { ...message, content };
    },
    forRequest(systemPrompt) {
      let start = Math.max(0, messages.length - maxMessages);
      while (start > 0 && messages[start]?.role !== 'user') start -= 1;
      return [{ role: 'system', content: systemPrompt }, ...messages.slice(start)];
    },
  };
}
