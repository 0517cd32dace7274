// Schemas of the simulator's control API bodies (`/_sim/*`), so a typo in a test fails loudly.
import { z } from 'zod';
import { SIM_ACTIONS } from './types.js';

const trigger = {
  times: z.number().int().positive().optional(),
  probability: z.number().min(0).max(1).optional(),
  action: z.enum(SIM_ACTIONS as [string, ...string[]]).optional(),
};

/** A fault as `POST /_sim/faults` takes it. */
export const faultSpecSchema = z.discriminatedUnion('mode', [
  z.strictObject({ mode: z.literal('status5xx'), code: z.number().int().min(500).max(599).optional(), ...trigger }),
  z.strictObject({ mode: z.literal('resetBeforeCommit'), ...trigger }),
  z.strictObject({ mode: z.literal('resetAfterCommit'), ...trigger }),
  z.strictObject({ mode: z.literal('commitThenFail'), ...trigger }),
  z.strictObject({
    mode: z.literal('slowMs'),
    ms: z.number().int().min(0).max(600_000),
    commit: z.enum(['before', 'after']).optional(),
    ...trigger,
  }),
  z.strictObject({ mode: z.literal('nonJson'), ...trigger }),
  z.strictObject({
    mode: z.literal('foreign'),
    status: z.number().int().min(200).max(599),
    body: z.string().max(1_048_576).optional(),
    contentType: z.string().min(1).optional(),
    ...trigger,
  }),
]);

/** Behaviour switches as `POST /_sim/config` takes them (all optional). */
export const behaviourSchema = z.strictObject({
  knownUserIds: z.union([z.literal('any'), z.array(z.number().int().positive())]).optional(),
  unknownId: z.enum(['404', '200']).optional(),
  successStatus: z.union([z.literal(200), z.literal(201)]).optional(),
});

/** `POST /_sim/reset` body. */
export const resetSchema = z.strictObject({ seed: z.number().int().optional() });

/** `POST /_sim/down` body: over HTTP the outage must end by itself, or nobody could end it. */
export const downSchema = z.strictObject({ forMs: z.number().int().positive().max(600_000) });
