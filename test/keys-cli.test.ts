import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { treeSnapshot } from './helpers/keys.js';

const PASSPHRASE = 'a long and private keyring passphrase';

function oneLine(r: { code: number | null; stderr: string }, re: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(re);
}

describe('custos root key and keys verbs (local keyring, CLI)', { timeout: 180_000 }, () => {
  let dir: string;
  let data: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'custos-keys-cli-'));
    data = path.join(dir, 'data');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('init without a passphrase seals the root key with a 0600 key file, apart from the key store and the data', () => {
    const r = runCli(['init'], { CUSTOS_DATA_DIR: data });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/created the root key \(local v1: path .*keyring\/root\.json, protection keyfile, keyFile .*root\.key\)/);
    for (const f of ['keyring/root.json', 'keyring/root.key']) expect(statSync(path.join(data, f)).mode & 0o777, f).toBe(0o600);
    expect(existsSync(path.join(data, 'keystore.db'))).toBe(true);
    expect(existsSync(path.join(data, 'custos.db'))).toBe(true);
    const again = runCli(['init'], { CUSTOS_DATA_DIR: data });
    expect(again.code).toBe(0);
    expect(again.stdout).not.toMatch(/created the root key/);
    const status = runCli(['keys', 'status'], { CUSTOS_DATA_DIR: data });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^root: local, current v1, minimum decryption version v1/m);
  });

  it('init with CUSTOS_MASTER_PASSPHRASE seals it under scrypt; a wrong or missing passphrase is one line, exit 2, nothing changed', () => {
    const env = { CUSTOS_DATA_DIR: data, CUSTOS_MASTER_PASSPHRASE: PASSPHRASE };
    expect(runCli(['init'], env).code).toBe(0);
    const ring = JSON.parse(readFileSync(path.join(data, 'keyring/root.json'), 'utf8')) as { protection: Record<string, unknown> };
    expect(ring.protection).toMatchObject({ type: 'passphrase', kdf: 'scrypt', N: 131072, r: 8, p: 1 });
    expect(existsSync(path.join(data, 'keyring/root.key'))).toBe(false);
    expect(readFileSync(path.join(data, 'keyring/root.json'), 'utf8')).not.toContain(PASSPHRASE);
    expect(runCli(['keys', 'status'], env).code).toBe(0);
    const before = treeSnapshot(data);
    for (const verb of [['serve'], ['init'], ['keys', 'status']]) {
      const wrong = runCli(verb, { ...env, CUSTOS_MASTER_PASSPHRASE: 'not the right passphrase' });
      oneLine(wrong, /wrong passphrase for keyring .*root\.json/);
      expect(wrong.stderr).not.toContain('not the right passphrase');
      oneLine(runCli(verb, { CUSTOS_DATA_DIR: data }), /sealed under a passphrase: set CUSTOS_MASTER_PASSPHRASE or run on a terminal/);
    }
    expect(treeSnapshot(data)).toEqual(before);
  });

  it('a missing key file stops serve and init with one line and changes nothing', () => {
    expect(runCli(['init'], { CUSTOS_DATA_DIR: data }).code).toBe(0);
    rmSync(path.join(data, 'keyring/root.key'));
    const before = treeSnapshot(data);
    for (const verb of [['serve'], ['init']]) oneLine(runCli(verb, { CUSTOS_DATA_DIR: data }), /key file .*root\.key not found/);
    expect(treeSnapshot(data)).toEqual(before);
  });

  it('refuses to make a new root key when the key store holds keys wrapped by a lost one', () => {
    expect(runCli(['init'], { CUSTOS_DATA_DIR: data }).code).toBe(0);
    const rotated = runCli(['keys', 'rotate', '--platform'], { CUSTOS_DATA_DIR: data });
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout).toMatch(/platform DEK rotated to version 2/);
    rmSync(path.join(data, 'keyring'), { recursive: true });
    oneLine(runCli(['init'], { CUSTOS_DATA_DIR: data }), /key store holds keys wrapped by a root key, but no root key is at .*keyring; restore the keyring/);
    expect(existsSync(path.join(data, 'keyring/root.json'))).toBe(false);
  });

  it('keys verbs: bad usage is one line and exit 2; destroy needs a reason; the ledger lists what was destroyed', () => {
    oneLine(runCli(['keys', 'status'], { CUSTOS_DATA_DIR: data }), /no root key yet: run `custos init` first/);
    expect(existsSync(data)).toBe(false);
    expect(runCli(['init'], { CUSTOS_DATA_DIR: data }).code).toBe(0);
    const env = { CUSTOS_DATA_DIR: data };
    const [tenant, subject] = [randomUUID(), randomUUID()];
    oneLine(runCli(['keys', 'rotate'], env), /give exactly one of --root, --platform, --audit-signing, --tenant <id>/);
    oneLine(runCli(['keys', 'rotate', '--root', '--platform'], env), /give exactly one of/);
    oneLine(runCli(['keys', 'rotate', '--tenant', 'nope'], env), /--tenant must be a tenant id/);
    oneLine(runCli(['keys', 'rewrap', '--batch-size', '0'], env), /--batch-size must be an integer from 1/);
    oneLine(runCli(['keys', 'destroy', '--tenant', tenant, '--subject', subject], env), /required option '--reason <text>'/);
    oneLine(runCli(['keys', 'destroy', '--tenant', tenant, '--subject', subject, '--all-tenant-data', '--reason', 'x'], env), /give --subject <id>, or --all-tenant-data/);
    oneLine(runCli(['keys', 'destroy', '--tenant', tenant, '--subject', subject, '--reason', '   '], env), /needs a reason/);
    const destroyed = runCli(['keys', 'destroy', '--tenant', tenant, '--subject', subject, '--reason', 'DSR-7 erasure'], env);
    expect(destroyed.code, destroyed.stderr).toBe(0);
    expect(destroyed.stdout).toMatch(/destroyed 0 key version\(s\) of subject .*; erasure ledger entry/);
    oneLine(runCli(['keys', 'destroy', '--tenant', tenant, '--subject', subject, '--reason', 'again'], env), /already destroyed/);
    const ledger = runCli(['keys', 'ledger', '--json'], env);
    expect(ledger.code).toBe(0);
    expect(JSON.parse(ledger.stdout.trim())).toMatchObject({ scope: 'subject', tenantId: tenant, subjectId: subject, reason: 'DSR-7 erasure', actor: 'system:cli-keys' });
    const rewrap = runCli(['keys', 'rewrap'], env);
    expect(rewrap.stdout).toMatch(/nothing to rewrap/);
    expect(runCli(['help', 'keys']).stdout).toMatch(/rotate[\s\S]*rewrap[\s\S]*status[\s\S]*retire[\s\S]*destroy[\s\S]*ledger/);
  });
});
