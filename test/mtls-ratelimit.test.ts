import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { createCustos, type Custos } from '../src/main.js';
import { loadTlsMaterial, tlsOptions } from '../src/server/tls.js';
import { testApp, testEnv, type TestEnv } from './helpers/app.js';

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'ignore' });
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl. */
function makePki(dir: string) {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=Test CA', '-keyout', 'ca.key', '-out', 'ca.pem'], dir);
  writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  for (const name of ['server', 'client']) {
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`], dir);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'san.ext', '-out', `${name}.pem`], dir);
  }
  const read = (f: string) => readFileSync(path.join(dir, f));
  return { ca: read('ca.pem'), clientCert: read('client.pem'), clientKey: read('client.key') };
}

function get(port: number, opts: https.RequestOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/healthz', ...opts }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('mutual TLS between Custos processes', () => {
  let dir: string;
  let env: TestEnv;
  let custos: Custos;
  let port: number;
  let pki: ReturnType<typeof makePki>;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'custos-mtls-'));
    pki = makePki(dir);
    env = await testEnv('sqlite', {
      'tls.cert': path.join(dir, 'server.pem'),
      'tls.key': path.join(dir, 'server.key'),
      'tls.clientCa': path.join(dir, 'ca.pem'),
    });
    custos = await createCustos(env.config, { https: tlsOptions(loadTlsMaterial(env.config)), logger: createLogger('silent') });
    await custos.app.listen({ host: '127.0.0.1', port: 0 });
    port = (custos.app.server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await custos.close();
    await env.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('uses the configured certificate and refuses a client without a certificate signed by the CA', async () => {
    await expect(get(port, { ca: pki.ca })).rejects.toThrow();
    expect(await get(port, { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey })).toBe(200);
  });
});

describe('per-IP rate limiting', () => {
  it('answers 429 problem+json past the configured budget', async () => {
    const t = await testApp('sqlite', { overrides: { 'rateLimit.enabled': true, 'rateLimit.max': 5, 'rateLimit.timeWindowMs': 60_000 } });
    try {
      const codes: number[] = [];
      let last;
      for (let i = 0; i < 7; i++) {
        last = await t.request({ method: 'GET', url: '/api/v1/tenants' });
        codes.push(last.statusCode);
      }
      expect(codes.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
      expect(codes.slice(5)).toEqual([429, 429]);
      expect(last?.headers['content-type']).toContain('application/problem+json');
      expect(last?.json().code).toBe('RATE_LIMITED');
      expect(last?.headers['retry-after']).toBeDefined();
    } finally {
      await t.close();
    }
  });
});
