// Billing end to end on MariaDB/MySQL (BILLING_TEST_MYSQL_URL): the scenario table in test/support/billing-e2e.ts.
import { billingBackend } from '../support/billing-backend.js';
import { billingEndToEnd } from '../support/billing-e2e.js';

billingEndToEnd(billingBackend('mysql'));
