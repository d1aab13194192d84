/**
 * Worker-thread entry of a verify crew (crew.ts): opens its read-only
 * connection to the source it was started with at once, then waits for one
 * Job (range.ts), takes parts of it and posts a report for each, then
 * "finished", or its error (a connection that would not open included).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openAuditReader, type ReadOnlySource } from '../../db/dialects/audit-reader.js';
import type { WorkerMessage } from './crew.js';
import { takeParts, type Job } from './range.js';

const port = parentPort;
if (port) {
  const post = (m: WorkerMessage) => port.postMessage(m);
  const reader = openAuditReader(workerData as ReadOnlySource);
  // Held until the job comes: a failed open is reported then, never left unhandled.
  reader.catch(() => {});
  port.once('message', (job: Job) => {
    reader
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
