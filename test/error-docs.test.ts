import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

describe('docs/errors.md', () => {
  it('documents every error code raised in src/', () => {
    const doc = readFileSync(path.join(ROOT, 'docs/errors.md'), 'utf8');
    const documented = new Set([...doc.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]));
    const used = new Set<string>();
    for (const file of sources(path.join(ROOT, 'src'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/createError\(\s*'([A-Z0-9_]+)'/g)) used.add(m[1] as string);
      for (const m of text.matchAll(/\bcode: '([A-Z][A-Z0-9_]+)'/g)) used.add(m[1] as string);
      // Modules that keep their codes in a table (errors.ts) declare them as quoted constants.
      if (path.basename(file) === 'errors.ts') {
        for (const m of text.matchAll(/'([A-Z][A-Z0-9]*_[A-Z0-9_]+)'/g)) used.add(m[1] as string);
      }
    }
    const missing = [...used].filter((c) => !documented.has(c)).sort();
    expect(missing, `add these codes to docs/errors.md: ${missing.join(', ')}`).toEqual([]);
  });
});
