import { sqliteBackend } from './backends.js';
import { billingScenarios } from './scenarios.js';

billingScenarios(sqliteBackend());
billingScenarios(sqliteBackend(), 'thread');
