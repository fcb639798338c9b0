import { z } from 'zod';
import { defineTool, ok } from './tool.js';

export const endCall = defineTool({
  name: 'end_call',
  description: 'Hangs up. Only after saying goodbye, when the caller has nothing else.',
  parameters: z.object({}),
  // Nothing to announce: the goodbye was just said, and a "just a moment" would sound odd.
  filler: null,
  timeoutMs: 3_000,
  mutates: true,
  endsCall: true,
  async execute(_args, context) {
    await context.actions.endCall();
    return ok({ ended: true }, 'Goodbye.');
  },
});
