/**
 * The instructions port: the system instructions of a call's next LLM request, written by the
 * application (the shop's prompt, in src/tools) and wired in main.ts. The session calls it before
 * every request, so what changes during a call (today's date in the application's zone, which a
 * call can cross) is always current.
 */
export type InstructionsPort = (call: { callId: string; callerNumber: string | undefined }) => string;
