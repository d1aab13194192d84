import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { createError } from '../shared/errors.js';
import { configSchema, type Config } from './schema.js';

/** Environment variables that override custos.yaml, with the key each sets. */
export const ENV_OVERRIDES: ReadonlyArray<{ env: string; key: string; type: 'string' | 'int' | 'bool' | 'list' }> = [
  { env: 'CUSTOS_DEPLOYMENT_NAME', key: 'deploymentName', type: 'string' },
  { env: 'CUSTOS_DATA_DIR', key: 'dataDir', type: 'string' },
  { env: 'CUSTOS_HOST', key: 'host', type: 'string' },
  { env: 'CUSTOS_HTTPS_PORT', key: 'httpsPort', type: 'int' },
  { env: 'CUSTOS_HTTP_REDIRECT_PORT', key: 'httpRedirectPort', type: 'int' },
  { env: 'CUSTOS_DATABASE_URL', key: 'databaseUrl', type: 'string' },
  { env: 'CUSTOS_DB_APP_ROLE', key: 'database.appRole', type: 'string' },
  { env: 'CUSTOS_DB_POOL_SIZE', key: 'database.poolSize', type: 'int' },
  { env: 'CUSTOS_TLS_CERT', key: 'tls.cert', type: 'string' },
  { env: 'CUSTOS_TLS_KEY', key: 'tls.key', type: 'string' },
  { env: 'CUSTOS_TLS_CLIENT_CA', key: 'tls.clientCa', type: 'string' },
  { env: 'CUSTOS_RATE_LIMIT_ENABLED', key: 'rateLimit.enabled', type: 'bool' },
  { env: 'CUSTOS_RATE_LIMIT_MAX', key: 'rateLimit.max', type: 'int' },
  { env: 'CUSTOS_RATE_LIMIT_WINDOW_MS', key: 'rateLimit.timeWindowMs', type: 'int' },
  { env: 'CUSTOS_BODY_LIMIT_BYTES', key: 'bodyLimitBytes', type: 'int' },
  { env: 'CUSTOS_LOG_LEVEL', key: 'logLevel', type: 'string' },
  { env: 'CUSTOS_SECURITY_CONTACT', key: 'securityTxt.contact', type: 'list' },
  { env: 'CUSTOS_AUDIT_RETENTION_DAYS', key: 'audit.retentionDays', type: 'int' },
  { env: 'CUSTOS_KEY_PROVIDER', key: 'keys.provider', type: 'string' },
  { env: 'CUSTOS_KEYRING_DIR', key: 'keys.local.dir', type: 'string' },
  { env: 'CUSTOS_KEY_FILE', key: 'keys.local.keyFile', type: 'string' },
  { env: 'CUSTOS_HSM_LIBRARY', key: 'keys.pkcs11.library', type: 'string' },
  { env: 'CUSTOS_HSM_TOKEN_LABEL', key: 'keys.pkcs11.tokenLabel', type: 'string' },
  { env: 'CUSTOS_HSM_PIN_FILE', key: 'keys.pkcs11.pinFile', type: 'string' },
  { env: 'CUSTOS_KMS_KEY_ID', key: 'keys.awsKms.keyId', type: 'string' },
  { env: 'CUSTOS_KMS_REGION', key: 'keys.awsKms.region', type: 'string' },
  { env: 'CUSTOS_KMS_ENDPOINT', key: 'keys.awsKms.endpoint', type: 'string' },
  { env: 'CUSTOS_KEY_CACHE_MAX_ENTRIES', key: 'keys.cache.maxEntries', type: 'int' },
  { env: 'CUSTOS_KEY_CACHE_TTL_SECONDS', key: 'keys.cache.ttlSeconds', type: 'int' },
];

export interface LoadOptions {
  /** Path of custos.yaml; else CUSTOS_CONFIG; else ./custos.yaml when it exists. */
  configPath?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Values set by the caller (tests, CLI flags), applied last. */
  overrides?: Record<string, unknown>;
}

function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1] as string] = value;
}

function convertEnv(env: string, key: string, type: string, raw: string): unknown {
  if (type === 'string') return raw;
  if (type === 'list') return raw.split(',').map((s) => s.trim()).filter(Boolean);
  if (type === 'bool') {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    throw configError(key, `must be true or false (from ${env}="${raw}")`);
  }
  if (!/^-?\d+$/.test(raw)) throw configError(key, `must be an integer (from ${env}="${raw}")`);
  return Number(raw);
}

function configError(key: string, reason: string) {
  return createError('CONFIG_INVALID', `config: ${key}: ${reason}`, 400, { key });
}

function readYaml(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw createError('CONFIG_UNREADABLE', `config: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: false, uniqueKeys: true });
  } catch (e) {
    const first = String((e as Error).message).split('\n')[0];
    throw createError('CONFIG_UNREADABLE', `config: ${file} is not valid YAML: ${first}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw createError('CONFIG_UNREADABLE', `config: ${file} must hold a mapping of keys`);
  }
  return doc as Record<string, unknown>;
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'config: invalid';
  const key = issue.path.length ? issue.path.join('.') : '(root)';
  let reason = issue.message;
  if (issue.code === 'unrecognized_keys') {
    return `config: ${[key === '(root)' ? '' : `${key}.`].join('')}${issue.keys.join(', ')}: unknown key`.replace(': unknown key', ': unknown key (not in the configuration schema)');
  }
  if (issue.code === 'invalid_type') reason = `expected ${issue.expected}`;
  return `config: ${key}: ${reason}`;
}

/**
 * Loads and validates the configuration: custos.yaml, then CUSTOS_* variables,
 * then explicit overrides. Throws a CustosError whose message is one line
 * naming the bad key; never touches the data directory.
 */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const file = options.configPath ?? env.CUSTOS_CONFIG;
  let raw: Record<string, unknown> = {};
  if (file) raw = readYaml(file);
  else {
    try {
      raw = readYaml(path.resolve('custos.yaml'));
    } catch (e) {
      if ((e as { code?: string }).code !== 'CONFIG_UNREADABLE' || !String((e as Error).message).includes('ENOENT')) throw e;
    }
  }
  for (const { env: name, key, type } of ENV_OVERRIDES) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(raw, key, convertEnv(name, key, type, value));
  }
  for (const [key, value] of Object.entries(options.overrides ?? {})) setPath(raw, key, value);
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw createError('CONFIG_INVALID', firstIssue(parsed.error), 400);
  const config = parsed.data;
  config.dataDir = path.resolve(config.dataDir);
  return config;
}
