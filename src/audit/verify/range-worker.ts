/**
 * Worker-thread entry of a parallel verification: runs the RangeTask it was
 * started with (range.ts) and posts progress, then its outcome or its error.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isCustosError } from '../../shared/errors.js';
import { verifyRange, type RangeTask } from './range.js';

const port = parentPort;
if (port) {
  verifyRange(workerData as RangeTask, (processed) => port.postMessage({ kind: 'progress', processed })).then(
    (outcome) => port.postMessage(outcome),
    (e: unknown) => port.postMessage({ kind: 'error', message: e instanceof Error ? e.message : String(e), code: isCustosError(e) ? e.code : undefined }),
  );
}
