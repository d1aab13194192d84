/**
 * Worker-thread entry of a verify crew (crew.ts): opens its read-only
 * connection to the source it was started with (a SQLite file at once, a
 * PostgreSQL connection once the job comes), waits for one Job (range.ts),
 * takes parts of it and posts a report for each, then "finished", or its
 * error (a connection that would not open included).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openAuditReader, type ReadOnlySource } from '../../db/dialects/audit-reader.js';
import type { WorkerMessage } from './crew.js';
import { takeParts, type Job } from './range.js';

const port = parentPort;
if (port) {
  const post = (m: WorkerMessage) => port.postMessage(m);
  const source = workerData as ReadOnlySource;
  const open = () => openAuditReader(source);
  const early = source.dialect === 'sqlite' ? open() : undefined;
  // Held until the job comes: a failed open is reported then, never left unhandled.
  early?.catch(() => {});
  port.once('message', (job: Job) => {
    (early ?? open())
      .then(async (r) => {
        try {
          await takeParts(job, r, post);
        } finally {
          await r.close();
        }
      })
      .then(
        () => post({ kind: 'finished' }),
        (e: unknown) => post({ kind: 'error', message: e instanceof Error ? e.message : String(e) }),
      );
  });
}
