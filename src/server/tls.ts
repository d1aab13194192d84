import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SecureContextOptions } from 'node:tls';
import selfsigned from 'selfsigned';
import type { Config } from '../config/index.js';
import { createError } from '../shared/errors.js';

/** TLS 1.2 suites of Mozilla's "intermediate" profile (AEAD, forward secret); TLS 1.3 suites are Node's defaults. */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer | undefined;
  /** True when Custos made the certificate itself. */
  selfSigned: boolean;
  certPath: string;
  keyPath: string;
}

function selfSignedPaths(dataDir: string) {
  const dir = path.join(dataDir, 'tls');
  return { dir, cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
}

/**
 * Makes a self-signed certificate (ECDSA P-256, SHA-256, 1 year, SAN for the
 * configured host, localhost and 127.0.0.1) in <dataDir>/tls unless one is
 * there. Returns true when it generated one.
 */
export async function ensureSelfSigned(config: Config): Promise<boolean> {
  if (config.tls.cert) return false;
  const p = selfSignedPaths(config.dataDir);
  if (existsSync(p.cert) && existsSync(p.key)) return false;
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  const altNames = [
    { type: 2, value: 'localhost' },
    { type: 7, ip: '127.0.0.1' },
    { type: 7, ip: '::1' },
  ];
  if (config.host && !['127.0.0.1', 'localhost', '0.0.0.0', '::'].includes(config.host)) {
    altNames.push(/^[\d.]+$|:/.test(config.host) ? { type: 7, ip: config.host } : { type: 2, value: config.host });
  }
  const notBefore = new Date();
  const notAfter = new Date(notBefore.getTime() + 365 * 24 * 3600 * 1000);
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'Custos self-signed' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: notBefore,
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  } as never);
  writeAtomic(p.key, pems.private, 0o600);
  writeAtomic(p.cert, pems.cert, 0o644);
  return true;
}

function writeAtomic(file: string, content: string, mode: number): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}

function readPem(file: string, key: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw createError('CONFIG_INVALID', `config: ${key}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** Reads the configured (or generated) certificate, key and client CA. */
export function loadTlsMaterial(config: Config): TlsMaterial {
  const p = selfSignedPaths(config.dataDir);
  const certPath = config.tls.cert ?? p.cert;
  const keyPath = config.tls.key ?? p.key;
  return {
    cert: readPem(certPath, 'tls.cert'),
    key: readPem(keyPath, 'tls.key'),
    ca: config.tls.clientCa ? readPem(config.tls.clientCa, 'tls.clientCa') : undefined,
    selfSigned: !config.tls.cert,
    certPath,
    keyPath,
  };
}

/** Options for https.createServer / setSecureContext: TLS ≥ 1.2, AEAD suites, optional mutual TLS. */
export function tlsOptions(m: TlsMaterial): SecureContextOptions & { requestCert?: boolean; rejectUnauthorized?: boolean } {
  return {
    cert: m.cert,
    key: m.key,
    minVersion: 'TLSv1.2',
    ciphers: TLS12_CIPHERS,
    honorCipherOrder: true,
    ...(m.ca ? { ca: m.ca, requestCert: true, rejectUnauthorized: true } : {}),
  };
}
