/**
 * LlmProvider over OpenAI's Chat Completions streaming API, with the official `openai` SDK.
 *
 * Retries belong to us, not the SDK (it is built with `maxRetries: 0`): a phone caller is waiting, so
 * retries (429, 5xx, connection failures) happen only while nothing has been said yet, inside a
 * budget counted from the request to the first token. Once the model has produced output, a failure
 * is thrown as a ProviderError and the pipeline apologises instead of repeating half a sentence.
 *
 * Abort: when `request.signal` aborts, the HTTP stream is cancelled and iteration ends by throwing
 * `signal.reason` (never by returning quietly), so a caller can tell "the model finished" from "we
 * stopped it". `isAbortError(reason)` holds for the default reason of `AbortController.abort()`.
 */
import OpenAI, { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import type {
  ChatCompletionChunk,
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from 'openai/resources/chat/completions';
import { ProviderError } from '../../core/errors.js';
import { retry } from '../../core/retry.js';
import type { RetryInfo } from '../../core/retry.js';
import type { ChatMessage, LlmEvent, LlmProvider, LlmRequest, LlmTool } from '../llm.js';

export interface OpenAiLlmOptions {
  apiKey: string;
  /** e.g. https://api.openai.com/v1 (the SDK's default when omitted), or an emulator's /v1 base. */
  baseUrl?: string;
  model: string;
  /** Retries after the first attempt, all before the first token (default 3). */
  maxRetries?: number;
  /**
   * Time from the request to the first token, retries and their waits included (default 2500).
   * An attempt still waiting for its first token when the budget ends is cancelled.
   */
  budgetMs?: number;
  /** Baseline backoff before the first retry; doubles per attempt, full jitter (default 100). */
  baseDelayMs?: number;
  /**
   * After the first token, the longest silence allowed between two chunks before the stream is
   * given up as stalled (default 10000): a hung socket must not keep a caller on a silent line.
   */
  stallTimeoutMs?: number;
  temperature?: number;
  /** Told about each retry; `error` is already the sanitized ProviderError. */
  onRetry?: (info: RetryInfo) => void;
}

const PROVIDER = 'openai';

/** The SDK client as the server builds it (no SDK retries: ours are budgeted); the doctor uses it too. */
export function openAiClient(apiKey: string, baseUrl: string | undefined): OpenAI {
  return new OpenAI({ apiKey, ...(baseUrl === undefined ? {} : { baseURL: baseUrl }), maxRetries: 0 });
}

export function createOpenAiLlm(options: OpenAiLlmOptions): LlmProvider {
  const { apiKey, model, temperature, onRetry } = options;
  const maxRetries = options.maxRetries ?? 3;
  const budgetMs = options.budgetMs ?? 2500;
  const baseDelayMs = options.baseDelayMs ?? 100;
  const stallTimeoutMs = options.stallTimeoutMs ?? 10_000;
  const client = openAiClient(apiKey, options.baseUrl);
  const sanitize = (error: unknown): ProviderError => toProviderError(error, apiKey);

  async function* stream(request: LlmRequest): AsyncGenerator<LlmEvent> {
    const { signal } = request;
    signal.throwIfAborted();

    const body: ChatCompletionCreateParamsStreaming = {
      model,
      messages: request.messages.map(toOpenAiMessage),
      stream: true,
      ...(temperature === undefined ? {} : { temperature }),
      // OpenAI rejects an empty tools array, and parallel_tool_calls without tools.
      ...(request.tools.length === 0 ? {} : { tools: request.tools.map(toOpenAiTool), parallel_tool_calls: true }),
    };

    let opened: OpenedStream;
    let lastFailure: unknown;
    try {
      opened = await retry((_attempt, attemptSignal) => openUntilFirstToken(client, body, attemptSignal), {
        budgetMs,
        baseDelayMs,
        maxAttempts: maxRetries + 1,
        signal,
        isRetryable: (error) => sanitize(error).retryable,
        retryAfterMs,
        onRetry: (info) => {
          lastFailure = info.error;
          onRetry?.({ ...info, error: sanitize(info.error) });
        },
      });
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw giveUpError(error, lastFailure, budgetMs, apiKey);
    }

    const { iterator, controller } = opened;
    const calls = new Map<number, { id: string; name: string; arguments: string }>();
    let finishReason: string | null = null;
    let finished = false;
    let drained = opened.ended;
    try {
      let buffered: ChatCompletionChunk[] = opened.firstChunks;
      while (true) {
        for (const chunk of buffered) {
          const choice = chunk.choices.find((c) => c.index === 0);
          if (choice === undefined) continue; // the usage chunk, or another of n choices
          const delta = choice.delta;
          if (typeof delta.content === 'string' && delta.content !== '') {
            yield { type: 'text', delta: delta.content };
            // The consumer may have aborted while we were suspended at the yield.
            signal.throwIfAborted();
          }
          for (const part of delta.tool_calls ?? []) {
            const call = calls.get(part.index) ?? { id: '', name: '', arguments: '' };
            if (part.id) call.id = part.id;
            // OpenAI sends the name once, in the call's first delta.
            if (part.function?.name && call.name === '') call.name = part.function.name;
            if (part.function?.arguments) call.arguments += part.function.arguments;
            calls.set(part.index, call);
          }
          if (choice.finish_reason) {
            finishReason = choice.finish_reason;
            finished = true;
          }
        }
        if (drained) break;
        const next = await nextChunk(iterator, signal, stallTimeoutMs, controller);
        if (next.done) {
          drained = true;
          break;
        }
        buffered = [next.value];
      }
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw sanitize(error);
    } finally {
      // Stops the HTTP stream on every early exit: abort, error, or the consumer breaking out.
      if (!drained) controller.abort();
    }
    // The SDK ends iteration quietly when its request is aborted: tell that apart from the end.
    if (signal.aborted) throw signal.reason;
    if (!finished) {
      throw new ProviderError(PROVIDER, 'OpenAI stream ended before the response was complete (no finish_reason)', {
        retryable: true,
      });
    }

    if (calls.size > 0) {
      const assembled = [...calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call);
      const broken = assembled.find((call) => call.id === '' || call.name === '');
      if (broken !== undefined) {
        throw new ProviderError(PROVIDER, 'OpenAI stream had a tool call without an id or a name', { retryable: false });
      }
      yield { type: 'tool_calls', calls: assembled };
    }
    yield { type: 'done', finishReason };
  }

  return { name: PROVIDER, stream };
}

/**
 * When the budget runs out during a retry, the cancelled attempt says only "out of time": the
 * failure that made us retry (a 500, a 429) is the one worth reporting.
 */
function giveUpError(error: unknown, lastFailure: unknown, budgetMs: number, apiKey: string): ProviderError {
  const budgetRanOut = error instanceof Error && error.name === 'TimeoutError';
  if (!budgetRanOut || lastFailure === undefined) return toProviderError(error, apiKey);
  const last = toProviderError(lastFailure, apiKey);
  return new ProviderError(PROVIDER, `${last.message} (gave up: retry budget of ${budgetMs} ms spent)`, {
    ...(last.status === undefined ? {} : { status: last.status }),
    retryable: last.retryable,
  });
}

interface OpenedStream {
  iterator: AsyncIterator<ChatCompletionChunk>;
  controller: AbortController;
  /** Chunks read while waiting for the first token (role-only chunks, then the token itself). */
  firstChunks: ChatCompletionChunk[];
  /** The stream ended while we were still waiting for a token (an empty response). */
  ended: boolean;
}

/**
 * Sends the request and reads until the model's first real output (text, a tool call, or a finish
 * reason), so everything up to that point is one retryable attempt. A stream that ends, stalls or
 * fails before then is an error here, and so retried.
 */
async function openUntilFirstToken(
  client: OpenAI,
  body: ChatCompletionCreateParamsStreaming,
  signal: AbortSignal,
): Promise<OpenedStream> {
  const stream = await client.chat.completions.create(body, { signal });
  const iterator = stream[Symbol.asyncIterator]();
  const firstChunks: ChatCompletionChunk[] = [];
  try {
    while (true) {
      const next = await iterator.next();
      // The SDK swallows its own abort and just ends: surface the budget/caller abort instead.
      signal.throwIfAborted();
      if (next.done) {
        if (firstChunks.some((chunk) => chunk.choices.some((c) => c.finish_reason))) {
          return { iterator, controller: stream.controller, firstChunks, ended: true };
        }
        throw new ProviderError(PROVIDER, 'OpenAI stream ended before the first token', { retryable: true });
      }
      firstChunks.push(next.value);
      if (next.value.choices.some(isFirstToken)) {
        return { iterator, controller: stream.controller, firstChunks, ended: false };
      }
    }
  } catch (error) {
    stream.controller.abort();
    throw error;
  }
}

function isFirstToken(choice: ChatCompletionChunk.Choice): boolean {
  const delta = choice.delta;
  return (
    (typeof delta.content === 'string' && delta.content !== '') ||
    (delta.tool_calls !== undefined && delta.tool_calls.length > 0) ||
    (typeof delta.refusal === 'string' && delta.refusal !== '') ||
    choice.finish_reason !== null
  );
}

/**
 * The next chunk, or the abort reason as soon as `signal` aborts, or a stall error: the SDK would
 * also end on abort, but we do not wait on it to give control back.
 */
function nextChunk(
  iterator: AsyncIterator<ChatCompletionChunk>,
  signal: AbortSignal,
  stallTimeoutMs: number,
  controller: AbortController,
): Promise<IteratorResult<ChatCompletionChunk>> {
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => {
      cleanup();
      controller.abort();
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      cleanup();
      controller.abort();
      reject(new ProviderError(PROVIDER, `OpenAI stream stalled: no data for ${stallTimeoutMs} ms`, { retryable: true }));
    }, stallTimeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    iterator.next().then(
      (result) => {
        cleanup();
        resolve(result);
      },
      (error: unknown) => {
        cleanup();
        reject(error);
      },
    );
  });
}

function toOpenAiMessage(message: ChatMessage): ChatCompletionMessageParam {
  switch (message.role) {
    case 'system':
    case 'user':
      return { role: message.role, content: message.content };
    case 'tool':
      return { role: 'tool', tool_call_id: message.tool_call_id, content: message.content };
    case 'assistant':
      // OpenAI rejects an empty tool_calls array ("[] is too short").
      return message.tool_calls !== undefined && message.tool_calls.length > 0
        ? {
            role: 'assistant',
            content: message.content,
            tool_calls: message.tool_calls.map((call) => ({
              id: call.id,
              type: 'function',
              function: { name: call.function.name, arguments: call.function.arguments },
            })),
          }
        : { role: 'assistant', content: message.content ?? '' };
  }
}

function toOpenAiTool(tool: LlmTool): ChatCompletionTool {
  return {
    type: 'function',
    function: {
      name: tool.function.name,
      ...(tool.function.description === undefined ? {} : { description: tool.function.description }),
      ...(tool.function.parameters === undefined ? {} : { parameters: tool.function.parameters }),
    },
  };
}

/** OpenAI's `retry-after-ms` (non-standard, what its SDKs read first), then `Retry-After`. */
function retryAfterMs(error: unknown): number | undefined {
  if (!(error instanceof APIError) || error.headers === undefined) return undefined;
  const ms = Number.parseFloat(error.headers.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const header = error.headers.get('retry-after');
  if (header === null) return undefined;
  const seconds = Number.parseFloat(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/**
 * Maps anything thrown by the SDK or the stream onto a ProviderError whose message is safe to log:
 * OpenAI's 401 message echoes a masked form of the key, so keys are scrubbed, and the SDK error is
 * not kept as `cause` (loggers serialize causes).
 */
export function toProviderError(error: unknown, apiKey: string): ProviderError {
  if (error instanceof ProviderError) return error;
  const scrub = (text: string): string => redact(text, apiKey);

  if (error instanceof APIUserAbortError) {
    return new ProviderError(PROVIDER, 'OpenAI request was aborted', { retryable: true });
  }
  if (error instanceof APIConnectionError) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return new ProviderError(PROVIDER, scrub(`OpenAI connection failed (${error.message}${cause})`), { retryable: true });
  }
  if (error instanceof APIError) {
    const status = error.status;
    const detail = [error.type, error.code].filter((part) => typeof part === 'string' && part !== '').join('/');
    const raw = error.error as { message?: unknown } | undefined;
    const text = typeof raw?.message === 'string' ? raw.message : error.message;
    const requestId = error.requestID ? ` [request ${error.requestID}]` : '';
    // A 429 for an exhausted quota will not clear up by waiting.
    const retryable = status === undefined || status === 429 ? error.code !== 'insufficient_quota' : status >= 500;
    return new ProviderError(
      PROVIDER,
      scrub(`OpenAI ${status === undefined ? 'stream error' : `HTTP ${status}`}${detail ? ` (${detail})` : ''}: ${text}${requestId}`),
      { ...(status === undefined ? {} : { status }), retryable },
    );
  }
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new ProviderError(PROVIDER, scrub(`OpenAI gave no first token in time (${error.message})`), { retryable: true });
  }
  if (error instanceof TypeError || isSocketError(error)) {
    // undici reports a connection lost mid-body as TypeError('terminated'), which the SDK rethrows.
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return new ProviderError(PROVIDER, scrub(`OpenAI connection lost (${(error as Error).message}${cause})`), { retryable: true });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ProviderError(PROVIDER, scrub(`OpenAI request failed: ${message}`), { retryable: false });
}

function isSocketError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|UND_ERR_)/.test(code);
}

function redact(text: string, apiKey: string): string {
  let out = apiKey.length > 0 ? text.split(apiKey).join('[redacted]') : text;
  // OpenAI-style keys, whole or masked ("sk-pro****1234"), and any bearer token.
  out = out.replace(/\bsk-[A-Za-z0-9_*.-]{3,}/g, 'sk-[redacted]');
  out = out.replace(/Bearer\s+\S+/gi, 'Bearer [redacted]');
  return out;
}
