import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import autocannon from 'autocannon';

export const BENCH_DIR = import.meta.dirname;

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

/** Autocannon against a loopback HTTPS URL; 50 connections unless told. */
export async function load(opts: {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: () => string;
  seconds?: number;
  connections?: number;
}): Promise<LoadResult> {
  const result = await autocannon({
    url: opts.url,
    connections: opts.connections ?? 50,
    duration: opts.seconds ?? 5,
    method: opts.method ?? 'GET',
    headers: opts.headers,
    tlsOptions: { rejectUnauthorized: false },
    requests: opts.body
      ? [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, body: opts.body?.() }) }]
      : undefined,
  } as autocannon.Options);
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

/** Starts bench/server.ts in a child process; resolves with what it reports once listening. */
export function startServer(mode: string, env: Record<string, string> = {}, execArgv: string[] = []): Promise<{ child: ChildProcess; info: Record<string, string> }> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(BENCH_DIR, 'server.ts'), [mode], {
      execArgv: ['--import', 'tsx', ...execArgv],
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.once('message', (m) => resolve({ child, info: m as Record<string, string> }));
    child.once('exit', (code) => reject(new Error(`bench server ${mode} exited with ${code}`)));
  });
}

/** Sends `request` to a bench server and resolves with its first message that carries `answer` (bench/server.ts). */
export function ask<T extends object>(child: ChildProcess, request: object, answer: keyof T & string): Promise<T> {
  return new Promise((resolve) => {
    const onMessage = (m: Record<string, unknown>) => {
      if (m[answer] === undefined) return;
      child.off('message', onMessage);
      resolve(m as T);
    };
    child.on('message', onMessage);
    child.send(request);
  });
}

/** The server process's CPU time so far in microseconds (user + system). */
export async function serverCpu(child: ChildProcess): Promise<number> {
  return (await ask<{ cpuMicros: number }>(child, { cpu: true }, 'cpuMicros')).cpuMicros;
}

export async function stopServer(child: ChildProcess): Promise<void> {
  child.removeAllListeners('exit');
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await done;
}

export function row(label: string, value: string, baseline?: string, ratio?: number): string {
  const r = ratio === undefined ? '' : `${(ratio * 100).toFixed(0)}%`;
  return `  ${label.padEnd(58)} ${value.padStart(14)}  ${(baseline ?? '').padStart(14)}  ${r.padStart(6)}`;
}

export function header(title: string): void {
  console.log(`\n${title}`);
  console.log(row('measure', 'value', 'baseline', undefined) + '  of baseline');
}
