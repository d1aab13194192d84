export { createBootstrapService, hashToken, BOOTSTRAP_PREFIX, type BootstrapService } from './bootstrap.js';
