import { createCipheriv, createDecipheriv, randomBytes, randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config/index.js';
import { createLocalKeyring, encodeContext, open, prepareKey, seal } from '../src/crypto/index.js';
import { createLogger } from '../src/logger.js';
import { openCore } from '../src/main.js';
import { header, row } from './lib.js';

const SIZE = 1024;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/**
 * Measures `ops` side by side in alternating 50 ms slices for `seconds` in
 * all, and reports each op's median slice rate (operations per second): on
 * a shared machine a slice that lost the CPU is an outlier, not the mean.
 * Async ops are awaited one by one.
 */
async function rates(seconds: number, ops: ReadonlyArray<() => unknown>): Promise<number[]> {
  const samples: number[][] = ops.map(() => []);
  const slice = async (i: number, ms: number): Promise<number> => {
    const op = ops[i]!;
    const start = performance.now();
    let n = 0;
    while (performance.now() - start < ms) {
      for (let k = 0; k < 32; k++) {
        const r = op();
        if (r instanceof Promise) await r;
      }
      n += 32;
    }
    return n / ((performance.now() - start) / 1000);
  };
  for (let i = 0; i < ops.length; i++) await slice(i, 200); // warm-up
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) for (let i = 0; i < ops.length; i++) samples[i]!.push(await slice(i, 50));
  return samples.map(median);
}

/**
 * Issue 3: sealing and opening 1 KiB fields — the envelope (key-committing,
 * context-bound AES-256-GCM) and the keyring with a warm key cache — beside
 * bare node:crypto AES-256-GCM (random IV, the same AAD length) on the same data.
 */
export async function benchCrypto(seconds: number): Promise<void> {
  header('crypto — 1 KiB fields, one core (operations/s, median of 50 ms slices)');
  const plaintext = randomBytes(SIZE);
  const ctx = { tenantId: '0190c0de-0000-7000-8000-000000000001', purpose: 'people', objectId: '0190c0de-0000-7000-8000-000000000002', field: 'email' };
  const aad = Buffer.concat([randomBytes(49), encodeContext(ctx)]);
  const rawKey = randomBytes(32);

  // The baseline gets the envelope's own shortcuts: IVs from a CSPRNG pool, one output buffer.
  const pool = Buffer.allocUnsafeSlow(12 * 512);
  let at = pool.length;
  const rawSeal = () => {
    if (at === pool.length) {
      randomFillSync(pool);
      at = 0;
    }
    const out = Buffer.allocUnsafe(12 + SIZE + 16);
    pool.copy(out, 0, at, at + 12);
    at += 12;
    const c = createCipheriv('aes-256-gcm', rawKey, out.subarray(0, 12), { authTagLength: 16 });
    c.setAAD(aad);
    c.update(plaintext).copy(out, 12);
    c.final();
    c.getAuthTag().copy(out, 12 + SIZE);
    return out;
  };
  const naiveSeal = () => {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', rawKey, iv, { authTagLength: 16 });
    c.setAAD(aad);
    const ct = c.update(plaintext);
    c.final();
    return Buffer.concat([iv, ct, c.getAuthTag()]);
  };
  const rawBox = rawSeal();
  const rawOpen = () => {
    const d = createDecipheriv('aes-256-gcm', rawKey, rawBox.subarray(0, 12), { authTagLength: 16 });
    d.setAuthTag(rawBox.subarray(rawBox.length - 16));
    d.setAAD(aad);
    const pt = d.update(rawBox.subarray(12, rawBox.length - 16));
    d.final();
    return pt;
  };

  const key = prepareKey('0190c0de-0000-7000-8000-0000000000aa', randomBytes(32));
  const env = seal(key, plaintext, ctx);

  const dir = mkdtempSync(path.join(os.tmpdir(), 'custos-bench-crypto-'));
  const config = loadConfig({ env: {}, overrides: { dataDir: dir, logLevel: 'silent' } });
  const core = await openCore(config, { logger: createLogger('silent'), rootKey: await createLocalKeyring({ dir: path.join(dir, 'keyring') }) });
  const target = { tenantId: ctx.tenantId };
  const kEnv = await core.keys.seal(target, plaintext, ctx);
  await core.keys.open(kEnv, ctx); // warm the cache

  // What awaiting a promise per call costs by itself: raw GCM behind an async function.
  const awaited = <T>(f: () => T) => async () => f();
  const [naive, rs, as, es, ks] = await rates(seconds, [naiveSeal, rawSeal, awaited(rawSeal), () => seal(key, plaintext, ctx), () => core.keys.seal(target, plaintext, ctx)]);
  const [ro, ao, eo, ko] = await rates(seconds, [rawOpen, awaited(rawOpen), () => open(key, env, ctx), () => core.keys.open(kEnv, ctx)]);
  console.log(row('raw AES-256-GCM seal, randomBytes IV per call (naive)', naive!.toFixed(0)));
  console.log(row('raw AES-256-GCM seal, pooled IVs (baseline)', rs!.toFixed(0)));
  console.log(row('raw seal awaited in an async function (the cost of a promise)', as!.toFixed(0), rs!.toFixed(0), as! / rs!));
  console.log(row('envelope seal (PreparedKey)', es!.toFixed(0), rs!.toFixed(0), es! / rs!));
  console.log(row('keyring seal (tenant DEK, warm cache, awaited)', ks!.toFixed(0), rs!.toFixed(0), ks! / rs!));
  console.log(row('raw AES-256-GCM open (baseline)', ro!.toFixed(0)));
  console.log(row('raw open awaited in an async function (the cost of a promise)', ao!.toFixed(0), ro!.toFixed(0), ao! / ro!));
  console.log(row('envelope open (PreparedKey)', eo!.toFixed(0), ro!.toFixed(0), eo! / ro!));
  console.log(row('keyring open (warm cache, awaited)', ko!.toFixed(0), ro!.toFixed(0), ko! / ro!));
  await core.keys.close();
  await core.rawDb.close();
  rmSync(dir, { recursive: true, force: true });
}
