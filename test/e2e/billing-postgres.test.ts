// Billing end to end on PostgreSQL (BILLING_TEST_POSTGRES_URL): the scenario table in test/support/billing-e2e.ts.
import { billingBackend } from '../support/billing-backend.js';
import { billingEndToEnd } from '../support/billing-e2e.js';

billingEndToEnd(billingBackend('postgres'));
