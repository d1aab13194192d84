export { configSchema, type Config, type ConfigInput } from './schema.js';
export { loadConfig, ENV_OVERRIDES, type LoadOptions } from './load.js';
