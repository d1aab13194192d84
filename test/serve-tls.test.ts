import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startCli, waitFor } from './helpers/cli.js';

function get(port: number, urlPath: string, headers: Record<string, string> = {}, method = 'GET', body?: string) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: urlPath, method, headers, rejectUnauthorized: false }, (res) => {
      let data = '';
      res.on('data', (d) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

function sClient(port: number, flag: string): string {
  // -brief prints the negotiated version right after the handshake (the full
  // session block may not be printed for TLS 1.3 when stdin closes at once).
  const r = spawnSync('openssl', ['s_client', '-brief', '-connect', `127.0.0.1:${port}`, flag, '-cipher', 'DEFAULT:@SECLEVEL=0'], { input: '', encoding: 'utf8', timeout: 10_000 });
  return `${r.stdout}\n${r.stderr}`;
}

function peerFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(s.getPeerX509Certificate()?.fingerprint256 ?? '');
      s.end();
    });
    s.on('error', reject);
  });
}

async function listeningPort(child: { output: () => string }): Promise<number> {
  let port = 0;
  await waitFor(async () => {
    port = Number(/listening on https:\/\/[^:]+:(\d+)/.exec(child.output())?.[1] ?? 0);
    return port > 0;
  }, 20_000, 'listening line');
  return port;
}

describe('custos serve over HTTPS (real process)', () => {
  let dir: string;
  let port: number;
  let redirectPort: number;
  let env: Record<string, string>;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'custos-serve-'));
    redirectPort = await freePort();
    // Port 0: the server picks a free port and prints it, so no other test can take it first.
    env = { CUSTOS_DATA_DIR: path.join(dir, 'custos-data'), CUSTOS_HTTPS_PORT: '0', CUSTOS_HTTP_REDIRECT_PORT: String(redirectPort) };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('starts on an empty data directory within 20 s, refuses TLS 1.1, serves TLS 1.2/1.3 with HSTS, reloads its certificate on SIGHUP, stops on SIGTERM and keeps its data', async () => {
    const started = Date.now();
    const first = startCli(['serve'], env);
    try {
      port = await listeningPort(first);
      await waitFor(async () => (await get(port, '/healthz')).status === 200, 20_000, 'healthz');
      expect(Date.now() - started).toBeLessThan(20_000);
      const token = /\b(cst_[A-Za-z0-9_-]{43})\b/.exec(first.output())?.[1];
      expect(token, first.output()).toBeDefined();

      expect(sClient(port, '-tls1_1')).toMatch(/alert protocol version|no protocols available|unsupported protocol/i);
      expect(sClient(port, '-tls1_2')).toMatch(/Protocol version: TLSv1\.2/);
      expect(sClient(port, '-tls1_3')).toMatch(/Protocol version: TLSv1\.3/);

      const health = await get(port, '/healthz');
      expect(health.headers['strict-transport-security']).toMatch(/max-age=63072000/);

      const redirected = await new Promise<{ status?: number; location?: string }>((resolve, reject) => {
        import('node:http').then(({ get: hget }) =>
          hget({ host: '127.0.0.1', port: redirectPort, path: '/healthz' }, (res) => resolve({ status: res.statusCode, location: res.headers.location })).on('error', reject),
        );
      });
      expect(redirected).toEqual({ status: 308, location: `https://127.0.0.1:${port}/healthz` });

      const setup = JSON.stringify({ token, email: 'ops@example.test', name: 'Ops', password: 'tangerine orbit quietly 7 lamps' });
      const created = await get(port, '/api/v1/setup', { 'content-type': 'application/json' }, 'POST', setup);
      expect(created.status, created.body).toBe(200);
      expect(JSON.parse(created.body).next).toBe('enrol_mfa');

      // SIGHUP: a new certificate in place is served without a restart.
      const before = await peerFingerprint(port);
      const certDir = path.join(env.CUSTOS_DATA_DIR as string, 'tls');
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=rotated', '-keyout', path.join(certDir, 'key.pem'), '-out', path.join(certDir, 'cert.pem')], { stdio: 'ignore' });
      first.kill('SIGHUP');
      await waitFor(async () => (await peerFingerprint(port)) !== before, 10_000, 'new certificate');
      const expected = new X509Certificate(execFileSync('cat', [path.join(certDir, 'cert.pem')])).fingerprint256;
      expect(await peerFingerprint(port)).toBe(expected);
    } finally {
      first.kill('SIGTERM');
    }
    const code = await new Promise((r) => first.on('exit', (c) => r(c)));
    expect(code).toBe(0);

    const second = startCli(['serve'], env);
    try {
      port = await listeningPort(second);
      await waitFor(async () => (await get(port, '/healthz')).status === 200, 20_000, 'healthz after restart');
      expect(second.output()).not.toMatch(/cst_/);
      expect(second.output()).not.toMatch(/generated a self-signed/);
      // The data was kept: the setup token was used once and stays used.
      const token = /\b(cst_[A-Za-z0-9_-]{43})\b/.exec(first.output())?.[1];
      const again = await get(port, '/api/v1/setup', { 'content-type': 'application/json' }, 'POST', JSON.stringify({ token, email: 'x@example.test', name: 'X', password: 'tangerine orbit quietly 7 lamps' }));
      expect(JSON.parse(again.body).code).toBe('SETUP_TOKEN_INVALID');
    } finally {
      second.kill('SIGTERM');
      await new Promise((r) => second.on('exit', r));
    }
  }, 90_000);
});
