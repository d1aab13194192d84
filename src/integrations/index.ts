// Public API of the integrations module (README.md). Other modules import from here only.
export { createIntegrationService, toIntegration, type IntegrationDeps, type IntegrationService } from './service.js';
export { registerIntegrationRoutes } from './routes.js';
export type { CreateIntegrationInput, Integration, IntegrationKind, IntegrationSecret, SignedPayload } from './types.js';
