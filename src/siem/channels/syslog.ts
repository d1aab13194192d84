/**
 * Syslog notifications through the audit forwarder's transport (RFC 5424
 * over TLS with RFC 5425 framing, the collector verified, delivery counted
 * after the settle window). Each alert is one message: PRI severity from the
 * alert's, structured data `[<sdId> index=<last log index> eventId=<notification id> leafHash=-]`,
 * MSG = the alert JSON.
 */
import os from 'node:os';
import type { Severity } from '../../audit/index.js';
import { SyslogTransport } from '../../audit/forward/index.js';
import type { Clock } from '../../shared/clock.js';
import type { Sender } from '../notifier.js';

const SEVERITY_ID: Record<string, number> = { informational: 1, low: 2, medium: 3, high: 4, critical: 5 };

export interface SyslogOptions {
  host: string;
  port: number;
  ca: Buffer;
  serverName?: string | undefined;
  hostname?: string | undefined;
  appName: string;
  facility: number;
  minSeverity: Severity;
  clock: Clock;
}

export class SyslogSender implements Sender {
  readonly name = 'syslog';
  readonly minSeverity: Severity;
  readonly #transport: SyslogTransport;

  constructor(o: SyslogOptions) {
    this.minSeverity = o.minSeverity;
    this.#transport = new SyslogTransport({
      host: o.host,
      port: o.port,
      ca: o.ca,
      serverName: o.serverName,
      clock: o.clock,
      format: { facility: o.facility, hostname: o.hostname ?? os.hostname(), appName: o.appName, procId: String(process.pid), sdId: 'custos@32473' },
    });
  }

  async send(n: { id: string; payload: string }): Promise<void> {
    const { alert } = JSON.parse(n.payload) as { alert: { severity: string; lastSeenAt: string; indexes: number[] } };
    await this.#transport.send({
      entries: [
        {
          index: alert.indexes.at(-1) ?? -1,
          eventJson: n.payload,
          leafHash: '-',
          eventId: n.id,
          event: { severity_id: SEVERITY_ID[alert.severity] ?? 3, time_dt: alert.lastSeenAt },
        },
      ],
    });
  }

  close(): Promise<void> {
    return this.#transport.close();
  }
}
