/**
 * A protocol-level emulator of OpenAI's Chat Completions API (`POST /v1/chat/completions`) on
 * 127.0.0.1, so the real `openai` SDK can be tested offline. It speaks the documented wire format:
 * streamed responses are `text/event-stream` `data: {chat.completion.chunk}` events ending with
 * `data: [DONE]`; the first delta carries `role: 'assistant'`; a tool call's first delta carries its
 * `index`, `id`, `type` and `function.name` (arguments ''), later deltas only `index` and argument
 * fragments; the last chunk has an empty delta and `finish_reason`. Errors are
 * `{ error: { message, type, param, code } }` with the HTTP status, as OpenAI answers them.
 *
 * Responses are scripted per test (`script([...])`, consumed one per request), falling back to a
 * default responder (an echo of the last user message unless `setDefault` changes it).
 *
 * The Models API is served too, for key checks: `GET /v1/models` lists the account's models and
 * `GET /v1/models/{model}` retrieves one (`{ id, object: 'model', created, owned_by }`); an
 * unknown model is 404 `model_not_found`, a wrong key 401 as for completions.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { listenOnLoopback } from './listen.js';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body (undefined when the body was not JSON). */
  body: ChatCompletionRequestBody | undefined;
  receivedAt: number;
  /** The client closed the connection before the response was complete (an abort). */
  clientAborted: boolean;
  /** When the exchange ended (completed, dropped or aborted); undefined while it is still open. */
  closedAt: number | undefined;
}

/** The request fields the emulator reads; everything else is recorded as sent. */
export interface ChatCompletionRequestBody {
  model?: unknown;
  messages?: unknown;
  tools?: unknown;
  stream?: unknown;
  stream_options?: { include_usage?: boolean } | null;
  parallel_tool_calls?: unknown;
  temperature?: unknown;
  [field: string]: unknown;
}

export interface EmulatedRequest {
  body: ChatCompletionRequestBody;
  headers: IncomingHttpHeaders;
  messages: Array<Record<string, unknown>>;
  /** 0-based index of this request among all requests the emulator received. */
  index: number;
}

/** What happens to a stream part-way through: the failure modes a real network shows. */
export interface StreamInterruption {
  /** How many `data:` chunks are written first (the role chunk counts as one). */
  afterChunks: number;
  /**
   * 'hang': stop writing and keep the connection open until the client leaves (or close());
   * 'drop': destroy the socket (a reset); 'end': end the response cleanly without finish_reason or
   * [DONE] (a truncating proxy); 'error': write an SSE `data: {"error": ...}` event and end.
   */
  mode: 'hang' | 'drop' | 'end' | 'error';
}

export interface StreamTiming {
  /** Wait after the headers before the first chunk (the model's time to first token). */
  firstTokenDelayMs?: number;
  interChunkDelayMs?: number;
  /** Wait before answering at all (headers included). */
  headersDelayMs?: number;
  interrupt?: StreamInterruption;
}

export interface ScriptedText extends StreamTiming {
  text: string;
  /** Exact deltas to send (default: the text split into word-sized deltas). */
  deltas?: string[];
  finishReason?: string;
}

export interface ScriptedToolCall {
  /** Default: a generated `call_...` id. */
  id?: string;
  name: string;
  /** A JSON string, or a value to serialize. */
  arguments: string | Record<string, unknown>;
  /** Exact argument fragments (default: the arguments split into `fragments` pieces, default 3). */
  argumentFragments?: string[];
  fragments?: number;
}

export interface ScriptedToolCalls extends StreamTiming {
  toolCalls: ScriptedToolCall[];
  /** Content the model says before calling the tools (some models do). */
  text?: string;
  /** Interleave the calls' argument fragments instead of sending call 0 fully, then call 1. */
  interleave?: boolean;
  finishReason?: string;
}

export interface ScriptedError {
  error: {
    status: number;
    message?: string;
    type?: string;
    code?: string | null;
    /** Sent as `Retry-After` (seconds). */
    retryAfterSeconds?: number;
    /** Sent as `retry-after-ms`, which the openai SDKs also read. */
    retryAfterMs?: number;
  };
  headersDelayMs?: number;
}

export type StaticResponse = ScriptedText | ScriptedToolCalls | ScriptedError;
export type Responder = (request: EmulatedRequest) => StaticResponse | Promise<StaticResponse>;
export type ScriptedResponse = StaticResponse | Responder;

export interface OpenAiEmulatorOptions {
  apiKey?: string;
  /** Model ids the key may use (the Models API); default: a few current chat models. */
  models?: readonly string[];
}

export interface OpenAiEmulator {
  /** Pass as the SDK's baseURL: http://127.0.0.1:PORT/v1 */
  readonly baseUrl: string;
  readonly apiKey: string;
  /** Every request received, in order (rejected ones included). */
  readonly requests: RecordedRequest[];
  /** Completion requests that passed authentication and validation. */
  completionRequests(): RecordedRequest[];
  /** Queues responses, consumed one per authenticated completion request. */
  script(responses: ScriptedResponse[]): void;
  /** How many scripted responses are still queued. */
  pending(): number;
  setDefault(responder: ScriptedResponse): void;
  /** Resolves once no exchange is open (every response finished, dropped or abandoned). */
  whenIdle(): Promise<void>;
  close(): Promise<void>;
}

const DEFAULT_MODEL = 'gpt-4o-mini';
const DEFAULT_MODELS = ['gpt-4o-mini', 'gpt-4o', 'gpt-4.1-mini', 'gpt-4.1'];
/** 2024-07-18, gpt-4o-mini's release: any fixed Unix time will do. */
const MODEL_CREATED = 1721172741;

const ERROR_DEFAULTS: Record<number, { type: string; code: string | null; message: string }> = {
  400: { type: 'invalid_request_error', code: null, message: 'Invalid request.' },
  401: { type: 'invalid_request_error', code: 'invalid_api_key', message: 'Incorrect API key provided.' },
  403: { type: 'invalid_request_error', code: 'unsupported_country_region_territory', message: 'Country, region, or territory not supported' },
  404: { type: 'invalid_request_error', code: 'model_not_found', message: 'The model does not exist or you do not have access to it.' },
  429: {
    type: 'requests',
    code: 'rate_limit_exceeded',
    message: 'Rate limit reached for gpt-4o-mini in organization org-emulator on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 120ms.',
  },
  500: { type: 'server_error', code: null, message: 'The server had an error while processing your request. Sorry about that!' },
  502: { type: 'server_error', code: null, message: 'Bad gateway.' },
  503: { type: 'server_error', code: null, message: 'The engine is currently overloaded, please try again later.' },
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly code: string | null,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

export async function startOpenAiEmulator(options: OpenAiEmulatorOptions = {}): Promise<OpenAiEmulator> {
  const apiKey = options.apiKey ?? `sk-emulator-${randomBytes(12).toString('hex')}`;
  const models = options.models ?? DEFAULT_MODELS;
  const requests: RecordedRequest[] = [];
  const accepted: RecordedRequest[] = [];
  const queue: ScriptedResponse[] = [];
  let fallback: ScriptedResponse = echoResponder;
  let closing = false;
  let open = 0;
  const idleWaiters: Array<() => void> = [];

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
      } else {
        sendError(res, new HttpError(500, `emulator failure: ${String(error)}`, 'server_error', null));
      }
    });
  });
  const port = await listenOnLoopback(server);
  const origin = `http://127.0.0.1:${port}`;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', origin);
    // Recorded on arrival, so an exchange the client abandons mid-upload is still seen (and waited for).
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      headers: req.headers,
      body: undefined,
      receivedAt: Date.now(),
      clientAborted: false,
      closedAt: undefined,
    };
    const index = requests.push(record) - 1;
    open++;

    // The response's 'close' fires for every ending; only an unfinished one the server did not
    // drop itself means the client went away.
    let droppedByServer = false;
    const gone = new AbortController();
    res.on('close', () => {
      record.closedAt = Date.now();
      if (!res.writableFinished && !droppedByServer) record.clientAborted = true;
      gone.abort();
      open--;
      if (open === 0) for (const resolve of idleWaiters.splice(0)) resolve();
    });
    const drop = (): void => {
      droppedByServer = true;
      res.destroy();
    };

    const raw = await readBody(req, gone.signal);
    if (raw === undefined) return;
    let body: ChatCompletionRequestBody | undefined;
    try {
      const parsed: unknown = raw.length > 0 ? JSON.parse(raw) : undefined;
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as ChatCompletionRequestBody;
    } catch {
      body = undefined;
    }
    record.body = body;

    if (url.pathname === '/v1/models' || url.pathname.startsWith('/v1/models/')) {
      serveModels(res, record.method, decodeURIComponent(url.pathname.slice('/v1/models'.length).replace(/^\//, '')), req.headers.authorization);
      return;
    }
    if (url.pathname !== '/v1/chat/completions') {
      sendError(res, new HttpError(404, `Invalid URL (${record.method} ${url.pathname})`, 'invalid_request_error', null));
      return;
    }
    if (record.method !== 'POST') {
      sendError(res, new HttpError(405, `Invalid method for URL (${record.method} ${url.pathname})`, 'invalid_request_error', null));
      return;
    }
    const authError = checkAuth(req.headers.authorization);
    if (authError) {
      sendError(res, authError);
      return;
    }
    if (body === undefined) {
      sendError(res, new HttpError(400, 'We could not parse the JSON body of your request.', 'invalid_request_error', null));
      return;
    }
    const invalid = validate(body);
    if (invalid) {
      sendError(res, invalid);
      return;
    }
    // A client that already left must not use up a response meant for a later request. Client and
    // emulator usually share one event loop: one turn lets a disconnect already on the wire land.
    await new Promise((resolve) => setImmediate(resolve));
    if (gone.signal.aborted) return;
    accepted.push(record);

    const scripted = queue.length > 0 ? queue.shift() : fallback;
    const request: EmulatedRequest = {
      body,
      headers: req.headers,
      messages: body.messages as Array<Record<string, unknown>>,
      index,
    };
    if (scripted === undefined) throw new Error('no response');
    const response = typeof scripted === 'function' ? await scripted(request) : scripted;

    const wait = (ms: number | undefined): Promise<boolean> => delay(ms ?? 0, gone.signal);
    if (!(await wait(response.headersDelayMs))) return;

    if ('error' in response) {
      const defaults = ERROR_DEFAULTS[response.error.status] ?? ERROR_DEFAULTS[500]!;
      const headers: Record<string, string> = {};
      if (response.error.retryAfterSeconds !== undefined) headers['retry-after'] = String(response.error.retryAfterSeconds);
      if (response.error.retryAfterMs !== undefined) headers['retry-after-ms'] = String(response.error.retryAfterMs);
      sendError(
        res,
        new HttpError(
          response.error.status,
          response.error.message ?? defaults.message,
          response.error.type ?? defaults.type,
          response.error.code === undefined ? defaults.code : response.error.code,
        ),
        headers,
      );
      return;
    }

    const model = typeof body.model === 'string' ? body.model : DEFAULT_MODEL;
    if (body.stream !== true) {
      sendJson(res, 200, completionObject(response, model));
      return;
    }
    await streamResponse(res, response, model, body.stream_options?.include_usage === true, wait, drop, gone.signal);
  }

  /** The Models API: list (`id` empty) or retrieve. */
  function serveModels(res: ServerResponse, method: string, id: string, authorization: string | undefined): void {
    if (method !== 'GET') {
      sendError(res, new HttpError(405, `Invalid method for URL (${method} /v1/models)`, 'invalid_request_error', null));
      return;
    }
    const authError = checkAuth(authorization);
    if (authError) {
      sendError(res, authError);
      return;
    }
    const model = (name: string) => ({ id: name, object: 'model', created: MODEL_CREATED, owned_by: 'system' });
    if (id === '') {
      sendJson(res, 200, { object: 'list', data: models.map(model) });
    } else if (models.includes(id)) {
      sendJson(res, 200, model(id));
    } else {
      sendError(res, new HttpError(404, `The model '${id}' does not exist`, 'invalid_request_error', 'model_not_found', 'model'));
    }
  }

  function checkAuth(header: string | undefined): HttpError | undefined {
    if (header === undefined || !header.startsWith('Bearer ') || header.length <= 'Bearer '.length) {
      return new HttpError(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.",
        'invalid_request_error',
        null,
      );
    }
    const presented = header.slice('Bearer '.length);
    if (presented === apiKey) return undefined;
    // OpenAI echoes a masked form of the wrong key: adapters must not pass it on verbatim.
    return new HttpError(
      401,
      `Incorrect API key provided: ${maskKey(presented)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
      'invalid_request_error',
      'invalid_api_key',
    );
  }

  return {
    baseUrl: `${origin}/v1`,
    apiKey,
    requests,
    completionRequests: () => [...accepted],
    script(responses) {
      queue.push(...responses);
    },
    pending: () => queue.length,
    async whenIdle() {
      // A request the client has just written may not have been read yet (same event loop): give
      // the server a moment to see it before deciding nothing is open.
      await new Promise((resolve) => setTimeout(resolve, 10));
      if (open > 0) await new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
    setDefault(responder) {
      fallback = responder;
    },
    async close() {
      if (closing) return;
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** The default responder: says back what the caller said, so unscripted tests still get a stream. */
export function echoResponder(request: EmulatedRequest): ScriptedText {
  const lastUser = [...request.messages].reverse().find((m) => m['role'] === 'user');
  const content = typeof lastUser?.['content'] === 'string' ? lastUser['content'] : '';
  return { text: content === '' ? 'Hello! How can I help you today?' : `You said: ${content}` };
}

/** Mirrors the request checks of OpenAI's that an adapter is most likely to trip over. */
function validate(body: ChatCompletionRequestBody): HttpError | undefined {
  const invalid = (message: string, param: string | null = null): HttpError =>
    new HttpError(400, message, 'invalid_request_error', param === null ? null : 'invalid_value', param);
  if (typeof body.model !== 'string' || body.model === '') return invalid('you must provide a model parameter', 'model');
  if (!Array.isArray(body.messages)) return invalid("Missing required parameter: 'messages'.", 'messages');
  if (body.messages.length === 0) return invalid("[] is too short - 'messages'", 'messages');
  if (body.tools !== undefined) {
    if (!Array.isArray(body.tools)) return invalid("Invalid type for 'tools': expected an array.", 'tools');
    if (body.tools.length === 0) return invalid("[] is too short - 'tools'", 'tools');
    for (const [i, tool] of (body.tools as Array<Record<string, unknown>>).entries()) {
      const fn = tool['function'] as Record<string, unknown> | undefined;
      if (tool['type'] !== 'function' || typeof fn?.['name'] !== 'string') {
        return invalid(`Missing required parameter: 'tools[${i}].function.name'.`, `tools[${i}]`);
      }
    }
  }
  if (body.parallel_tool_calls !== undefined && body.tools === undefined) {
    return invalid("Invalid value for 'parallel_tool_calls': 'parallel_tool_calls' is only allowed when 'tools' are specified.", 'parallel_tool_calls');
  }
  const openCalls = new Set<string>();
  for (const [i, message] of (body.messages as Array<Record<string, unknown>>).entries()) {
    const role = message['role'];
    if (!['system', 'developer', 'user', 'assistant', 'tool'].includes(String(role))) {
      return invalid(`Invalid value: '${String(role)}'. Supported values are: 'system', 'assistant', 'user', 'tool', 'function' and 'developer'.`, `messages[${i}].role`);
    }
    const toolCalls = message['tool_calls'];
    if (role === 'assistant' && toolCalls !== undefined) {
      if (!Array.isArray(toolCalls) || toolCalls.length === 0) return invalid(`[] is too short - 'messages.${i}.tool_calls'`, `messages.[${i}].tool_calls`);
      for (const call of toolCalls as Array<Record<string, unknown>>) {
        const fn = call['function'] as Record<string, unknown> | undefined;
        if (typeof call['id'] !== 'string' || call['type'] !== 'function' || typeof fn?.['name'] !== 'string' || typeof fn['arguments'] !== 'string') {
          return invalid(`Invalid 'messages[${i}].tool_calls': each needs id, type 'function' and function { name, arguments (a string) }.`, `messages.[${i}].tool_calls`);
        }
        openCalls.add(call['id']);
      }
    } else if (role === 'tool') {
      const id = message['tool_call_id'];
      if (typeof id !== 'string' || !openCalls.has(id)) {
        return invalid("Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.", `messages.[${i}].role`);
      }
      openCalls.delete(id);
    } else if (openCalls.size > 0) {
      return invalid(
        `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${[...openCalls].join(', ')}`,
        `messages.[${i}].role`,
      );
    }
    if (role !== 'assistant' && typeof message['content'] !== 'string' && !Array.isArray(message['content'])) {
      return invalid(`Invalid type for 'messages[${i}].content': expected one of a string or array of objects.`, `messages[${i}].content`);
    }
  }
  return undefined;
}

interface ToolCallPlan {
  id: string;
  name: string;
  fragments: string[];
}

function planToolCalls(calls: ScriptedToolCall[]): ToolCallPlan[] {
  return calls.map((call) => {
    const args = typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments);
    return {
      id: call.id ?? `call_${randomBytes(12).toString('base64url')}`,
      name: call.name,
      fragments: call.argumentFragments ?? splitInto(args, call.fragments ?? 3),
    };
  });
}

type Delta = Record<string, unknown>;

/** The deltas of one response, in wire order, finish chunk excluded. */
function planDeltas(response: ScriptedText | ScriptedToolCalls): Delta[] {
  const deltas: Delta[] = [];
  const text = response.text ?? '';
  const textDeltas = 'deltas' in response && response.deltas ? response.deltas : splitWords(text);
  if (!('toolCalls' in response)) {
    deltas.push({ role: 'assistant', content: '', refusal: null });
    for (const piece of textDeltas) deltas.push({ content: piece });
    return deltas;
  }
  const plans = planToolCalls(response.toolCalls);
  if (textDeltas.length > 0) {
    deltas.push({ role: 'assistant', content: '', refusal: null });
    for (const piece of textDeltas) deltas.push({ content: piece });
  }
  const opener = (plan: ToolCallPlan, index: number): Delta => ({
    index,
    id: plan.id,
    type: 'function',
    function: { name: plan.name, arguments: '' },
  });
  const fragment = (index: number, piece: string): Delta => ({ index, function: { arguments: piece } });
  const first = (toolCall: Delta): Delta =>
    deltas.length === 0 ? { role: 'assistant', content: null, tool_calls: [toolCall], refusal: null } : { tool_calls: [toolCall] };
  if (response.interleave) {
    plans.forEach((plan, index) => deltas.push(first(opener(plan, index))));
    const longest = Math.max(...plans.map((p) => p.fragments.length));
    for (let f = 0; f < longest; f++) {
      plans.forEach((plan, index) => {
        const piece = plan.fragments[f];
        if (piece !== undefined) deltas.push({ tool_calls: [fragment(index, piece)] });
      });
    }
  } else {
    plans.forEach((plan, index) => {
      deltas.push(first(opener(plan, index)));
      for (const piece of plan.fragments) deltas.push({ tool_calls: [fragment(index, piece)] });
    });
  }
  return deltas;
}

async function streamResponse(
  res: ServerResponse,
  response: ScriptedText | ScriptedToolCalls,
  model: string,
  includeUsage: boolean,
  wait: (ms: number | undefined) => Promise<boolean>,
  drop: () => void,
  gone: AbortSignal,
): Promise<void> {
  const id = `chatcmpl-${randomBytes(15).toString('base64url')}`;
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: Delta, finishReason: string | null): Record<string, unknown> => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    service_tier: 'default',
    system_fingerprint: 'fp_emulator',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(includeUsage ? { usage: null } : {}),
  });
  const isToolCall = 'toolCalls' in response;
  const chunks = planDeltas(response).map((delta) => chunk(delta, null));
  chunks.push(chunk({}, response.finishReason ?? (isToolCall ? 'tool_calls' : 'stop')));
  if (includeUsage) {
    chunks.push({
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      service_tier: 'default',
      system_fingerprint: 'fp_emulator',
      choices: [],
      usage: { prompt_tokens: 42, completion_tokens: chunks.length, total_tokens: 42 + chunks.length },
    });
  }

  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-request-id': `req_${randomBytes(16).toString('hex')}`,
    'openai-processing-ms': '1',
  });
  res.flushHeaders();

  const interrupt = response.interrupt;
  for (const [n, data] of chunks.entries()) {
    if (interrupt !== undefined && n === interrupt.afterChunks) {
      await interruptStream(res, interrupt.mode, drop, gone);
      return;
    }
    if (!(await wait(n === 0 ? response.firstTokenDelayMs : response.interChunkDelayMs))) return;
    // Waiting for the write to reach the socket keeps a 'drop' from discarding chunks already "sent".
    await new Promise<void>((resolve) => res.write(`data: ${JSON.stringify(data)}\n\n`, () => resolve()));
  }
  if (interrupt !== undefined && interrupt.afterChunks >= chunks.length) {
    await interruptStream(res, interrupt.mode, drop, gone);
    return;
  }
  if (!(await wait(response.interChunkDelayMs))) return;
  res.end('data: [DONE]\n\n');
}

async function interruptStream(
  res: ServerResponse,
  mode: StreamInterruption['mode'],
  drop: () => void,
  gone: AbortSignal,
): Promise<void> {
  switch (mode) {
    case 'hang':
      // Keeps the socket open until the client aborts or the emulator closes.
      await new Promise<void>((resolve) => {
        if (gone.aborted) resolve();
        else gone.addEventListener('abort', () => resolve(), { once: true });
      });
      return;
    case 'drop':
      drop();
      return;
    case 'end':
      res.end();
      return;
    case 'error':
      res.end(
        `data: ${JSON.stringify({ error: { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', param: null, code: null } })}\n\n`,
      );
      return;
  }
}

function completionObject(response: ScriptedText | ScriptedToolCalls, model: string): Record<string, unknown> {
  const isToolCall = 'toolCalls' in response;
  const message: Record<string, unknown> = {
    role: 'assistant',
    content: response.text === undefined || response.text === '' ? (isToolCall ? null : '') : response.text,
    refusal: null,
    annotations: [],
  };
  if (isToolCall) {
    message['tool_calls'] = planToolCalls(response.toolCalls).map((plan) => ({
      id: plan.id,
      type: 'function',
      function: { name: plan.name, arguments: plan.fragments.join('') },
    }));
  }
  return {
    id: `chatcmpl-${randomBytes(15).toString('base64url')}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: response.finishReason ?? (isToolCall ? 'tool_calls' : 'stop') }],
    usage: { prompt_tokens: 42, completion_tokens: 7, total_tokens: 49 },
    service_tier: 'default',
    system_fingerprint: 'fp_emulator',
  };
}

function sendError(res: ServerResponse, error: HttpError, headers: Record<string, string> = {}): void {
  sendJson(res, error.status, { error: { message: error.message, type: error.type, param: error.param, code: error.code } }, headers);
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-request-id': `req_${randomBytes(16).toString('hex')}`,
    ...headers,
  });
  res.end(text);
}

/** The request body, or undefined if the client went away before sending all of it. */
function readBody(req: IncomingMessage, gone: AbortSignal): Promise<string | undefined> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    const onGone = (): void => resolve(undefined);
    if (gone.aborted) return onGone();
    gone.addEventListener('abort', onGone, { once: true });
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      gone.removeEventListener('abort', onGone);
      resolve(Buffer.concat(parts).toString('utf8'));
    });
    req.on('error', onGone);
  });
}

/** Resolves true after `ms`, or false as soon as the client is gone (nothing left to write to). */
function delay(ms: number, gone: AbortSignal): Promise<boolean> {
  if (gone.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onGone = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      gone.removeEventListener('abort', onGone);
      resolve(true);
    }, ms);
    gone.addEventListener('abort', onGone, { once: true });
  });
}

/** Word-sized deltas with the leading space attached, the way OpenAI's tokens arrive. */
function splitWords(text: string): string[] {
  return text.match(/\s*\S+\s*$|\s*\S+/g) ?? (text === '' ? [] : [text]);
}

function splitInto(text: string, pieces: number): string[] {
  if (text === '') return [];
  const size = Math.max(1, Math.ceil(text.length / Math.max(1, pieces)));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

function maskKey(key: string): string {
  if (key.length <= 8) return '*'.repeat(key.length);
  return `${key.slice(0, 3)}${'*'.repeat(Math.min(key.length - 7, 40))}${key.slice(-4)}`;
}
