/**
 * The shop's side of the ports the call session calls (core/tool-port.ts, core/instructions-port.ts):
 * one dispatcher per call over the shop's tools, and the shop's system prompt. main.ts hands both
 * to the call manager; the pipeline never sees a tool definition, a service or the prompt's rules.
 */
import type { InstructionsPort } from '../core/instructions-port.js';
import type { ToolPortFactory } from '../core/tool-port.js';
import { createToolDispatcher } from './dispatcher.js';
import type { ToolErrorInfo } from './dispatcher.js';
import { buildSystemPrompt } from './system-prompt.js';
import type { AnyTool, ToolServices } from './tool.js';
import { transferToHuman } from './transfer-to-human.js';

/**
 * What a keypad key does when the caller is not typing a number: the tool call it stands for.
 * 0 reaches a person, as callers expect of any phone line.
 */
const KEYPAD_SHORTCUTS: Readonly<Record<string, { tool: string; arguments: Record<string, unknown> }>> = {
  '0': { tool: transferToHuman.name, arguments: { reason: 'The caller pressed 0 on the keypad to speak with a person.' } },
};

export interface ShopToolPortOptions {
  tools: readonly AnyTool[];
  services: ToolServices;
  /** For logging: what the dispatcher reports (see ToolDispatcherOptions.onError), with the call it happened in. */
  onError?: (callId: string, info: ToolErrorInfo) => void;
}

/**
 * Each call gets its own dispatcher (it remembers the call's tool call ids, so a repeated id never
 * acts twice) and its own caller identity: who the caller has proved to be holds for this call only.
 */
export function createShopToolPorts(options: ShopToolPortOptions): ToolPortFactory {
  // A broken tool list (bad name or timeout, a schema JSON cannot express) fails at start-up, not on the first call.
  createToolDispatcher({ tools: options.tools });
  return (call) => {
    const dispatcher = createToolDispatcher({ tools: options.tools, onError: (info) => options.onError?.(call.callId, info) });
    const base = {
      callId: call.callId,
      caller: { phoneNumber: call.callerNumber, verifiedCustomerIds: new Set<string>() },
      services: options.services,
      actions: call.actions,
    };
    const offered = new Set(dispatcher.tools.map((t) => t.function.name));
    let keypadCalls = 0;
    return {
      tools: dispatcher.tools,
      dispatch: (calls, dispatchOptions) => dispatcher.dispatch(calls, { ...dispatchOptions, base }),
      keypadShortcut(key) {
        const shortcut = KEYPAD_SHORTCUTS[key];
        if (shortcut === undefined || !offered.has(shortcut.tool)) return undefined;
        keypadCalls += 1;
        return { id: `keypad_${keypadCalls}`, name: shortcut.tool, arguments: JSON.stringify(shortcut.arguments) };
      },
    };
  };
}

/** The shop's system prompt, read off the shop's clock at every request so "today" is always right. */
export function shopInstructions(services: Pick<ToolServices, 'shopName' | 'rules' | 'now'>): InstructionsPort {
  return (call) =>
    buildSystemPrompt({ shopName: services.shopName, rules: services.rules, now: services.now(), callerNumber: call.callerNumber });
}
