import { mysqlBackend } from './backends.js';
import { billingScenarios } from './scenarios.js';

billingScenarios(mysqlBackend());
billingScenarios(mysqlBackend(), 'thread');
