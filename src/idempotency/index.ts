export { createIdempotencyService, requestHash, type IdempotencyService, type StoredResponse } from './service.js';
