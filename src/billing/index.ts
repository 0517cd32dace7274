// The billing layer's entry point: builds the `BillingSource` for the configured driver.
import type { BillingConfig } from '../config/schema.js';
import type { BillingSource } from '../domain/ports.js';
import type { Logger, LogSink } from '../util/logger.js';
import type { Connector } from './connector.js';
import { MysqlConnector } from './mysql.js';
import { PostgresConnector } from './postgres.js';
import { SqlBillingSource } from './source.js';
import { SqliteConnector } from './sqlite.js';
import { ThreadedBillingSource } from './thread/source.js';
import { parseNetworkUrl, targetLabel } from './url.js';

export { BillingError, type BillingFailure } from './errors.js';
export { builtInQuery, type Dialect } from './queries.js';
export { mapRows, resolveColumns, SUSPENDED_STATUSES } from './rows.js';

/**
 * Creates the billing source for `config.driver`. Opens nothing: the connection is made on the
 * first `listRecords`. Throws (a redacted one-line message) only when the URL cannot suit the driver.
 */
export function createBillingSource(config: BillingConfig, deps: { logger: LogSink }): SqlBillingSource {
  const target = targetLabel(config);
  const logger = deps.logger.child({ component: 'billing', driver: config.driver, target });
  let connector: Connector;
  switch (config.driver) {
    case 'sqlite':
      connector = new SqliteConnector(config, target, logger);
      break;
    case 'mysql':
      checkUrl(config);
      connector = new MysqlConnector(config, target, logger);
      break;
    case 'postgres':
      checkUrl(config);
      connector = new PostgresConnector(config, target, logger);
      break;
  }
  return new SqlBillingSource(connector, config, target, logger);
}

/** Throws (a redacted one-line message) when the URL cannot suit the driver; any path suits SQLite. */
function checkUrl(config: BillingConfig): void {
  if (config.driver !== 'sqlite') parseNetworkUrl(config.url, config.driver);
}

/**
 * The billing source the daemon runs: `createBillingSource` on its own thread, so the query and
 * the mapping of its rows run beside the hypervisor listings (see thread/source.ts). Opens
 * nothing and starts no thread until the first `listRecords`; throws like createBillingSource.
 */
export function createThreadedBillingSource(config: BillingConfig, deps: { logger: Logger }): BillingSource {
  checkUrl(config);
  return new ThreadedBillingSource(config, deps.logger);
}
