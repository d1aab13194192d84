import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../src/config/index.js';
import { createLocalKeyring, openLocalKeyring, type RootKeyProvider } from '../../src/crypto/index.js';
import { createLogger } from '../../src/logger.js';
import { openCore, type CustosCore } from '../../src/main.js';
import type { Clock } from '../../src/shared/clock.js';
import { isCustosError } from '../../src/shared/errors.js';

/** The code of the coded error `p` rejects with (fails the test when it resolves or throws uncoded). */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isCustosError(e)) return e.code;
    throw e;
  }
  throw new Error('expected a coded error');
}

/** A root key provider that counts unwraps (to see the key cache at work). */
export function countingProvider(inner: RootKeyProvider): RootKeyProvider & { unwraps: number } {
  const p = {
    unwraps: 0,
    kind: inner.kind,
    wrap: (k: Buffer, aad: Buffer) => inner.wrap(k, aad),
    unwrap: (w: Buffer, aad: Buffer) => {
      p.unwraps += 1;
      return inner.unwrap(w, aad);
    },
    generateWrappedKey: (aad: Buffer) => inner.generateWrappedKey(aad),
    describe: () => inner.describe(),
    rotate: () => inner.rotate(),
    close: () => inner.close(),
  };
  return p;
}

/** Opens (creating on first use) the key-file keyring of a test data directory. */
export async function localRoot(config: Config): Promise<RootKeyProvider> {
  const dir = path.join(config.dataDir, 'keyring');
  try {
    return await openLocalKeyring({ dir });
  } catch (e) {
    if (isCustosError(e) && e.code === 'KEY_KEYRING_MISSING') return createLocalKeyring({ dir });
    throw e;
  }
}

/** A core (database, audit, keyring) without the HTTP server; its keyring may be tuned for the test. */
export async function keysCore(
  config: Config,
  opts: { clock?: Clock; root?: RootKeyProvider; cache?: { maxEntries: number; ttlSeconds: number } } = {},
): Promise<CustosCore & { close(): Promise<void> }> {
  const cfg = opts.cache ? { ...config, keys: { ...config.keys, cache: opts.cache } } : config;
  const core = await openCore(cfg, {
    logger: createLogger('silent'),
    ...(opts.clock ? { clock: opts.clock } : {}),
    rootKey: opts.root ?? (await localRoot(config)),
  });
  return Object.assign(core, {
    async close() {
      await core.keys.close();
      await core.rawDb.close();
    },
  });
}

/** A clock tests move by hand. */
export function manualClock(start = Date.parse('2030-01-01T00:00:00Z')): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => new Date(now),
    advance(ms: number) {
      now += ms;
    },
  };
}

/** Every file under `dir` with its mtime, size and mode: equal snapshots mean nothing was written. */
export function treeSnapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      const s = statSync(p);
      if (s.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = `${s.mtimeMs}:${s.size}:${s.mode}`;
    }
  };
  walk(dir);
  return out;
}
