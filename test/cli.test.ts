import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';

describe('custos CLI', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'custos-cli-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('--version and help exit 0', () => {
    const v = runCli(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const h = runCli(['help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('serve');
    expect(runCli(['help', 'init']).stdout).toContain('setup token');
  });

  it('bad usage: one line and exit code 2', () => {
    for (const args of [['frobnicate'], ['--nope'], ['help', 'frobnicate']]) {
      const r = runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^custos: /);
    }
  });

  it('init creates the data directory (0700), certificate, database and a one-time setup token once', () => {
    const data = path.join(dir, 'data');
    const r = runCli(['init'], { CUSTOS_DATA_DIR: data });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/warning: no TLS certificate configured/);
    expect(r.stdout).toMatch(/\bcst_[A-Za-z0-9_-]{43}\b/);
    expect(statSync(data).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(data, 'tls/key.pem')).mode & 0o777).toBe(0o600);
    expect(existsSync(path.join(data, 'custos.db'))).toBe(true);
    const again = runCli(['init'], { CUSTOS_DATA_DIR: data });
    expect(again.code).toBe(0);
    expect(again.stdout).not.toMatch(/cst_/);
    expect(runCli(['migrate'], { CUSTOS_DATA_DIR: data }).stdout).toMatch(/migrations current/);
    expect(runCli(['setup-token'], { CUSTOS_DATA_DIR: data }).stdout).toMatch(/cst_/);
    expect(runCli(['bootstrap-token'], { CUSTOS_DATA_DIR: data }).stdout).toMatch(/cst_/);
  });

  it.each([
    [{ CUSTOS_HTTPS_PORT: 'abc' }, 'httpsPort'],
    [{ CUSTOS_HTTPS_PORT: '70000' }, 'httpsPort'],
    [{ CUSTOS_DATABASE_URL: 'mysql://x' }, 'databaseUrl'],
    [{ CUSTOS_LOG_LEVEL: 'loud' }, 'logLevel'],
    [{ CUSTOS_RATE_LIMIT_ENABLED: 'maybe' }, 'rateLimit.enabled'],
  ])('a bad config value %o: one line naming %s, exit 2, data untouched', (env, key) => {
    const data = path.join(dir, 'data');
    expect(runCli(['init'], { CUSTOS_DATA_DIR: data }).code).toBe(0);
    const before = snapshot(data);
    for (const verb of [['config', 'check'], ['serve'], ['init'], ['migrate']]) {
      const r = runCli(verb, { CUSTOS_DATA_DIR: data, ...env });
      expect(r.code, `${verb.join(' ')}: ${r.stderr}`).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(key);
    }
    expect(snapshot(data)).toEqual(before);
  });

  it('a bad custos.yaml: unknown key, wrong type, invalid YAML → one line, exit 2', () => {
    const cases: Array<[string, RegExp]> = [
      ['httpsPort: 8443\nfrobs: 1\n', /frobs.*unknown key/],
      ['httpsPort: "x"\n', /httpsPort/],
      ['tls:\n  cert: /etc/x.pem\n', /tls.*cert and tls.key/],
      ['httpsPort: [1\n', /not valid YAML/],
    ];
    for (const [text, re] of cases) {
      const file = path.join(dir, 'custos.yaml');
      writeFileSync(file, text);
      const r = runCli(['config', 'check', '--config', file], { CUSTOS_DATA_DIR: path.join(dir, 'never') });
      expect(r.code, text).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(re);
      expect(existsSync(path.join(dir, 'never'))).toBe(false);
    }
  });
});

function snapshot(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      const s = statSync(p);
      if (s.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = s.mtimeMs * 1e3 + s.size;
    }
  };
  walk(dir);
  return out;
}
