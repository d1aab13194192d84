import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** One registry per app instance (tests run several apps in one process). */
export interface Metrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route'>;
  /** Modules add their own gauges through this (e.g. forwarder lag). */
  gauge(name: string, help: string, labelNames?: readonly string[]): Gauge<string>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'custos_' });
  const gauges = new Map<string, Gauge<string>>();
  return {
    registry,
    httpRequests: new Counter({
      name: 'custos_http_requests_total',
      help: 'HTTP requests answered, by route pattern and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'custos_http_request_duration_seconds',
      help: 'HTTP request duration by route pattern',
      labelNames: ['method', 'route'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    gauge(name, help, labelNames = []) {
      let g = gauges.get(name);
      if (!g) {
        g = new Gauge({ name, help, labelNames: [...labelNames], registers: [registry] });
        gauges.set(name, g);
      }
      return g;
    },
  };
}
