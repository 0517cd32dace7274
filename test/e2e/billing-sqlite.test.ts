// Billing end to end on SQLite: the scenario table in test/support/billing-e2e.ts.
import { billingBackend } from '../support/billing-backend.js';
import { billingEndToEnd } from '../support/billing-e2e.js';

billingEndToEnd(billingBackend('sqlite'));
