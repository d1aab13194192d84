import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { seal } from '../crypto/index.js';
import { KeyCache } from './cache.js';
import { KeyMaterial } from './material.js';

class Slot {
  wiped = 0;
  wipe(): void {
    this.wiped += 1;
  }
}

const info = (id: string) => ({ id, owner: 't', purpose: 'tenant-dek' as const, ref: '', version: 1, parentId: null });
const ID = '0190c0de-0000-7000-8000-0000000000aa';
const ctx = { tenantId: 't', purpose: 'p', objectId: 'o', field: 'f' };

describe('KeyCache', () => {
  it('keeps at most maxEntries, evicting (and wiping) the least recently used', () => {
    const c = new KeyCache<Slot>({ maxEntries: 2, ttlMs: 1000, now: () => 0 });
    const [a, b, d] = [new Slot(), new Slot(), new Slot()];
    c.set('a', a);
    c.set('b', b);
    expect(c.get('a')).toBe(a); // a is now the most recent
    c.set('d', d);
    expect(c.get('b')).toBeUndefined();
    expect(b.wiped).toBe(1);
    expect([c.get('a'), c.get('d')]).toEqual([a, d]);
    expect(c.size).toBe(2);
  });

  it('expires entries after ttlMs and wipes them; clear and delete wipe too; replacing wipes the old value', () => {
    let now = 0;
    const c = new KeyCache<Slot>({ maxEntries: 10, ttlMs: 100, now: () => now });
    const [a, b, a2] = [new Slot(), new Slot(), new Slot()];
    c.set('a', a);
    c.set('b', b);
    now = 100;
    expect(c.get('a')).toBeUndefined();
    expect(a.wiped).toBe(1);
    c.set('a', a2);
    c.delete('a');
    expect(a2.wiped).toBe(1);
    c.clear();
    expect(b.wiped).toBe(1);
    expect(JSON.stringify(c)).toBe('{"size":0}');
  });
});

describe('KeyMaterial', () => {
  it('seals only inside reserved windows, asks for the next one at half, and moves to it without waiting', () => {
    const m = new KeyMaterial(info(ID), randomBytes(32));
    expect(m.canSeal()).toBe(false);
    m.addWindow(0, 4);
    expect(m.canSeal()).toBe(true);
    seal(m.prepared, Buffer.from('x'), ctx);
    expect(m.wantsWindow()).toBe(false);
    seal(m.prepared, Buffer.from('x'), ctx);
    expect(m.wantsWindow()).toBe(true);
    m.addWindow(100, 104); // reserved ahead: queued, the current window goes on
    expect(m.prepared.usage).toBe(2);
    seal(m.prepared, Buffer.from('x'), ctx);
    seal(m.prepared, Buffer.from('x'), ctx);
    expect(m.canSeal()).toBe(true); // switched to [100, 104)
    expect(m.prepared.usage).toBe(100);
    expect(m.prepared.usageLimit).toBe(104);
  });

  it('grows the window while windows go fast, back to the base when they do not; wipe makes it unusable; prints no material', () => {
    const m = new KeyMaterial(info(ID), randomBytes(32));
    expect(m.nextWindowSize(0, 4096, 65536)).toBe(4096);
    expect(m.nextWindowSize(500, 4096, 65536)).toBe(8192);
    expect(m.nextWindowSize(900, 4096, 65536)).toBe(16384);
    for (let t = 1000; t < 1500; t += 100) m.nextWindowSize(t, 4096, 65536);
    expect(m.nextWindowSize(1550, 4096, 65536)).toBe(65536);
    expect(m.nextWindowSize(10_000, 4096, 65536)).toBe(4096);
    m.addWindow(0, 10);
    m.wipe();
    expect(m.canSeal()).toBe(false);
    expect(() => seal(m.prepared, Buffer.from('x'), ctx)).toThrow(/destroyed/);
    expect(inspect(m)).toBe(`KeyMaterial { keyId: '${ID}', purpose: 'tenant-dek' }`);
    expect(JSON.stringify(m)).toBe(`{"keyId":"${ID}","purpose":"tenant-dek"}`);
  });
});
