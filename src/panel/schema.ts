// Schemas of the panel's answers: validated at the boundary, nothing past it trusts raw JSON.
import { z } from 'zod';

/** A successful create: only `vps.id` matters to us; the rest is informational. */
export const createAnswerSchema = z.object({
  vps: z.object({ id: z.number().int().positive() }),
});

/** The panel's generic error shape `{"error": "<status text>", "message": "<text>"}` (both optional). */
export const errorAnswerSchema = z.object({
  error: z.string().optional(),
  message: z.string().optional(),
});
