/**
 * Worker-thread entry of a parallel verification: takes parts of the Job it
 * was started with (range.ts) and posts a report for each, or its error.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { takeParts, type Job } from './range.js';

const port = parentPort;
if (port) {
  takeParts(workerData as Job, (report) => port.postMessage(report)).then(
    () => port.postMessage({ kind: 'finished' }),
    (e: unknown) => port.postMessage({ kind: 'error', message: e instanceof Error ? e.message : String(e) }),
  );
}
