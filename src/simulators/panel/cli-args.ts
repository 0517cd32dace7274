// Command-line options of the panel simulator process.
import { parseArgs } from 'node:util';
import type { PanelSimulatorOptions } from './simulator.js';

const USAGE =
  'usage: panel-sim --api-key KEY (or PANEL_SIM_API_KEY) [--port N] [--host H] [--seed N]\n' +
  '       [--known-users 1,2,3] [--unknown-id 404|200] [--success-status 200|201]';

/** Parses the command line into simulator options; throws with a usage line when they are wrong. */
export function parseCli(argv: string[], env: NodeJS.ProcessEnv): PanelSimulatorOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      'api-key': { type: 'string' },
      seed: { type: 'string', default: '1' },
      'known-users': { type: 'string' },
      'unknown-id': { type: 'string', default: '404' },
      'success-status': { type: 'string', default: '201' },
    },
    strict: true,
  });
  const apiKey = values['api-key'] ?? env['PANEL_SIM_API_KEY'];
  if (!apiKey) throw new Error(`an API key is required\n${USAGE}`);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535\n${USAGE}`);
  const unknownId = values['unknown-id'];
  if (unknownId !== '404' && unknownId !== '200') throw new Error(`--unknown-id must be 404 or 200\n${USAGE}`);
  const successStatus = Number(values['success-status']);
  if (successStatus !== 200 && successStatus !== 201) throw new Error(`--success-status must be 200 or 201\n${USAGE}`);
  const users = values['known-users'];
  const knownUserIds = users === undefined ? ('any' as const) : users.split(',').map((u) => Number(u.trim()));
  if (knownUserIds !== 'any' && knownUserIds.some((u) => !Number.isInteger(u) || u <= 0)) {
    throw new Error(`--known-users must be positive integers separated by commas\n${USAGE}`);
  }
  return { apiKey, port, host: values.host, seed: Number(values.seed) || 1, knownUserIds, unknownId, successStatus };
}
