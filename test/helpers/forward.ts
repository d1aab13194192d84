import net from 'node:net';
import { buildEvent, OCSF, ACTIVITY, type OcsfEvent } from '../../src/audit/index.js';
import { MemoryLogSource } from '../../src/audit/forward/index.js';

let counter = 0;

/** `n` distinct OCSF events (references only), with increasing times. */
export function fakeEvents(n: number, severity: 'informational' | 'high' = 'informational'): OcsfEvent[] {
  return Array.from({ length: n }, () => {
    const i = counter++;
    return buildEvent(
      {
        classUid: OCSF.API_ACTIVITY,
        activityId: ACTIVITY.UPDATE,
        action: 'record.update',
        kind: 'change',
        outcome: 'success',
        severity,
        tenantId: '0190a000-0000-7000-8000-000000000001',
        target: { type: 'record', id: `rec-${i}` },
        details: { fields: ['email'], n: i },
      },
      {
        eventId: `0190b000-0000-7000-8000-${String(i).padStart(12, '0')}`,
        time: new Date(Date.UTC(2026, 0, 1) + i),
        actor: { type: 'user', id: 'u-1' },
        requestId: `req-${i}`,
        sourceIp: '192.0.2.7',
      },
    );
  });
}

/** A source holding `n` events. */
export function sourceWith(n: number): MemoryLogSource {
  const source = new MemoryLogSource();
  source.append(fakeEvents(n));
  return source;
}

/** A free loopback TCP port (closed again; small race accepted in tests). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * A TCP proxy on a loopback port to `target`, which a test can take down
 * (existing connections reset, new ones refused) and bring back on the same port.
 */
export class TcpProxy {
  #server: net.Server | undefined;
  readonly #sockets = new Set<net.Socket>();
  port = 0;

  constructor(readonly targetPort: number) {}

  async up(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.#server = server;
  }

  async down(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#sockets) s.resetAndDestroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
