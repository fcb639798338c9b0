import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { CallActions, DispatchOptions, ToolResult, ToolResultInfo } from '../core/tool-port.js';
import { defaultBusinessRules } from '../scheduling/business-rules.js';
import type { ToolErrorInfo } from './dispatcher.js';
import { createShopToolPorts, shopInstructions } from './shop-ports.js';
import { defineTool, ok, type AnyTool, type ToolServices } from './tool.js';
import { transferToHuman } from './transfer-to-human.js';

const rules = defaultBusinessRules('America/New_York');
const actions: CallActions = { transferToHuman: async () => ({ transferred: false, message: 'no' }), endCall: async () => {} };

/** Reports the call it ran for, then vouches for `customer_id` on that call. */
const whoAmI = defineTool({
  name: 'who_am_i',
  description: 'Says which call it serves.',
  parameters: z.object({ customer_id: z.string() }),
  async execute(args, context) {
    const verifiedBefore = [...context.caller.verifiedCustomerIds];
    context.caller.verifiedCustomerIds.add(args.customer_id);
    return ok({ callId: context.callId, phoneNumber: context.caller.phoneNumber ?? null, verifiedBefore, sameActions: context.actions === actions }, 'ok');
  },
});

const broken = defineTool({
  name: 'broken',
  description: 'Throws.',
  parameters: z.object({}),
  async execute() {
    throw new Error('database on fire');
  },
});

function options(): DispatchOptions & { results: Array<{ result: ToolResult; info: ToolResultInfo }> } {
  const results: Array<{ result: ToolResult; info: ToolResultInfo }> = [];
  return { signal: new AbortController().signal, onResult: (_id, result, info) => results.push({ result, info }), results };
}

const services = { shopName: 'Main Street Auto', rules, now: () => new Date('2026-12-01T15:00:00Z') } as ToolServices;

describe('the shop tool port', () => {
  it("gives each call's tools that call: its id, the caller's number, its actions, and who the caller proved to be on it alone", async () => {
    const ports = createShopToolPorts({ tools: [whoAmI as unknown as AnyTool], services });
    const first = ports({ callId: 'CA1', callerNumber: '+15550001111', actions });
    const second = ports({ callId: 'CA2', callerNumber: undefined, actions });
    const args = JSON.stringify({ customer_id: 'cust-1' });

    const [a1] = await first.dispatch([{ id: 't1', name: 'who_am_i', arguments: args }], options());
    const [a2] = await first.dispatch([{ id: 't2', name: 'who_am_i', arguments: args }], options());
    const [b1] = await second.dispatch([{ id: 't1', name: 'who_am_i', arguments: args }], options());

    expect(a1?.result).toMatchObject({ data: { callId: 'CA1', phoneNumber: '+15550001111', verifiedBefore: [], sameActions: true } });
    expect(a2?.result).toMatchObject({ data: { verifiedBefore: ['cust-1'] } });
    // Another call: its own tool call ids (t1 runs again) and nobody verified yet.
    expect(b1?.result).toMatchObject({ data: { callId: 'CA2', phoneNumber: null, verifiedBefore: [] } });
    expect(first.tools.map((t) => t.function.name)).toEqual(['who_am_i']);
  });

  it('reports a tool failure with the call it happened in', async () => {
    const errors: Array<{ callId: string; info: ToolErrorInfo }> = [];
    const ports = createShopToolPorts({ tools: [broken as unknown as AnyTool], services, onError: (callId, info) => errors.push({ callId, info }) });
    await ports({ callId: 'CA9', callerNumber: undefined, actions }).dispatch([{ id: 't1', name: 'broken', arguments: '{}' }], options());
    expect(errors.map((e) => [e.callId, e.info.toolName, (e.info.error as Error).message])).toEqual([['CA9', 'broken', 'database on fire']]);
  });

  it('maps keypad 0 to transfer_to_human with a new call id each time, and other keys to nothing', async () => {
    const transfers: Array<string | undefined> = [];
    const callActions: CallActions = {
      transferToHuman: async (reason) => {
        transfers.push(reason);
        return { transferred: true, message: 'Transferring you now.' };
      },
      endCall: async () => {},
    };
    const port = createShopToolPorts({ tools: [transferToHuman as unknown as AnyTool], services })({ callId: 'CA3', callerNumber: undefined, actions: callActions });
    const first = port.keypadShortcut?.('0');
    const second = port.keypadShortcut?.('0');
    expect(first).toMatchObject({ name: 'transfer_to_human' });
    expect(second?.id).not.toBe(first?.id);
    expect(port.keypadShortcut?.('5')).toBeUndefined();
    expect(port.keypadShortcut?.('#')).toBeUndefined();
    const [result] = await port.dispatch([first!], options());
    expect(result?.result).toMatchObject({ success: true, data: { transferred: true } });
    expect(transfers).toEqual(['The caller pressed 0 on the keypad to speak with a person.']);
    // A shop without the transfer tool has no 0 shortcut.
    const without = createShopToolPorts({ tools: [whoAmI as unknown as AnyTool], services })({ callId: 'CA4', callerNumber: undefined, actions });
    expect(without.keypadShortcut?.('0')).toBeUndefined();
  });

  it('refuses a broken tool list when it is made, not on the first call', () => {
    const slow = { ...whoAmI, timeoutMs: 0 } as unknown as AnyTool;
    expect(() => createShopToolPorts({ tools: [slow], services })).toThrow(/invalid timeoutMs/);
  });
});

describe('the shop instructions', () => {
  it('read the shop clock at every request: a call that crosses midnight is told the new day', () => {
    let now = new Date('2026-12-02T04:59:00Z');
    const instructions = shopInstructions({ shopName: 'Main Street Auto', rules, now: () => now });
    const call = { callId: 'CA1', callerNumber: '+15550001111' };
    expect(instructions(call)).toContain('Tuesday, 2026-12-01');
    now = new Date('2026-12-02T05:01:00Z');
    expect(instructions(call)).toContain('Wednesday, 2026-12-02');
    expect(instructions(call)).toContain('calling from +15550001111');
    expect(instructions({ callId: 'CA2', callerNumber: undefined })).toContain("The caller's number is unknown");
  });
});
