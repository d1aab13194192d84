import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
// The compiled CLI (global setup builds dist/ incrementally): a tsx spawn would recompile every time.
const CLI = [path.join(ROOT, 'dist/src/cli/index.js')];

/** Runs `custos <args>` to completion. */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, cwd = ROOT) {
  const r = spawnSync(process.execPath, [...CLI, ...args], {
    cwd,
    env: { ...process.env, CUSTOS_CONFIG: undefined, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts `custos <args>` in the background. */
export function startCli(args: string[], env: Record<string, string | undefined> = {}): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, [...CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, CUSTOS_CONFIG: undefined, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  return Object.assign(child, { output: () => out });
}

/** A spawned Node script whose stdout arrives as lines (stderr appended as one line at exit) — the crash tests' children. */
export type LineChild = ChildProcess & { lines: string[]; exited: Promise<number | null> };

/** Spawns `node <script> <args>` from the repository root with `env` over the current environment. */
export function spawnLines(script: string, args: string[], env: Record<string, string | undefined>): LineChild {
  const child = spawn(process.execPath, [script, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buf = '';
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    lines.push(...parts);
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  void exited.then(() => err && lines.push(`stderr: ${err}`));
  return Object.assign(child, { lines, exited });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs = 30_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`timed out waiting for ${what}`);
}
