import { z } from 'zod';
import { defineTool, ok } from './tool.js';

export const transferToHuman = defineTool({
  name: 'transfer_to_human',
  description:
    'Hands the call to a person at the shop: when the caller asks for one, or for anything you cannot do with your tools.',
  parameters: z.object({
    reason: z.string().max(300).optional().describe('What the caller needs, so the person is prepared.'),
  }),
  filler: 'Let me get someone from the shop for you.',
  timeoutMs: 8_000,
  mutates: true,
  // Without a number to dial the call-back is arranged instead: the caller is still on our line.
  outcome: (data) => ((data as { transferred?: unknown } | null)?.transferred === true ? 'transferred' : undefined),
  async execute(args, context) {
    const outcome = await context.actions.transferToHuman(args.reason?.trim() || undefined);
    return ok({ transferred: outcome.transferred }, outcome.message);
  },
});
