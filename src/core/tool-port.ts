/**
 * The tool port: what the call session needs of the tools an application gives its LLM, and
 * nothing of what they do. The session shows the model `tools`, hands each model response's tool
 * calls to `dispatch`, speaks the filler it is given and records the results. The application
 * (the shop, in src/tools) implements it; main.ts wires one factory into the call manager, which
 * asks it for one port per call.
 */

/** A function tool as the LLM is shown it (OpenAI's shape, which other vendors can be mapped to). */
export interface LlmTool {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown> };
}

/** Every tool result, as the LLM reads it. `message` is safe to say to the caller as is. */
export type ToolResult =
  | { success: true; data: unknown; message: string }
  | { success: false; error: string; message: string };

/** What a tool may ask of the call itself; the transport decides how (Twilio REST, a test fake). */
export interface CallActions {
  transferToHuman(reason: string | undefined): Promise<{ transferred: boolean; message: string }>;
  /** Hangs up after whatever the agent is saying has played. */
  endCall(): Promise<void>;
}

/** One tool call as the LLM wrote it; `arguments` is the raw JSON text. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/**
 * How the run of one tool call ended (recorded as the tool call's `outcome`). 'ok' means the
 * handler returned a result (which may itself say `success: false`, e.g. a slot that is taken);
 * 'error' means it threw.
 */
export type DispatchOutcome = 'ok' | 'error' | 'invalid' | 'timeout' | 'aborted' | 'duplicate' | 'unknown_tool';

export interface ToolResultInfo {
  name: string;
  /** From the handler's start; from the start of the batch when no handler ran. */
  durationMs: number;
  outcome: DispatchOutcome;
  /**
   * What the call as a whole achieved through this tool call ('booked'), as the tool declares
   * it; only for a call that ran and succeeded, undefined otherwise. Opaque to the pipeline.
   */
  callOutcome: string | undefined;
  /**
   * The model asked for a tool that ends the call (as the tool declares): the turn gets no further
   * model response, whatever the result. Hanging up itself is the tool's doing (CallActions.endCall).
   */
  endsCall: boolean;
}

export interface DispatchedToolResult {
  id: string;
  name: string;
  result: ToolResult;
}

export interface DispatchOptions {
  /**
   * Aborts every call of the batch. The session passes the call's signal, not the turn's: a
   * barge-in stops the session waiting, never a tool, so a change to records always reports back.
   */
  signal: AbortSignal;
  /** Called at most once per batch, before any handler starts or any result is delivered. */
  onFiller?: (text: string) => void;
  /** Called just before a handler runs. */
  onStart?: (call: ToolCall) => void;
  /** Called exactly once per call, as soon as its result is known. */
  onResult?: (toolCallId: string, result: ToolResult, info: ToolResultInfo) => void;
}

/** One call's tools. */
export interface ToolPort {
  /** The `tools` of every LLM request of the call. */
  readonly tools: readonly LlmTool[];
  /** Runs one model response's tool calls. Resolves with one result per call, in call order; never rejects because of a tool. */
  dispatch(calls: ReadonlyArray<ToolCall>, options: DispatchOptions): Promise<DispatchedToolResult[]>;
  /**
   * The tool call a keypad key stands for when the caller is not typing a number (the shop maps 0
   * to a person), or undefined for a key that means nothing. The session runs it as if the model
   * had made it, then lets the model answer its result. Each call needs a new id.
   */
  keypadShortcut?(key: string): ToolCall | undefined;
}

/** The call a port serves: who is on the line, and what its tools may ask of the call. */
export interface ToolPortCall {
  callId: string;
  /** The caller's verified number, when the network gave one. */
  callerNumber: string | undefined;
  actions: CallActions;
}

/** Makes the tool port of one call (a port keeps per-call state: tool call ids seen, who is verified). */
export type ToolPortFactory = (call: ToolPortCall) => ToolPort;

