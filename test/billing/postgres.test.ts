import { postgresBackend } from './backends.js';
import { billingScenarios } from './scenarios.js';

billingScenarios(postgresBackend());
billingScenarios(postgresBackend(), 'thread');
