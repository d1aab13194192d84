/** Turning stored log entries into entries ready to send. */
import type { OcsfEvent } from '../events.js';
import { forwardError } from './errors.js';
import type { ForwardEntry, LogEntry } from './types.js';

/**
 * Parses `entries` and checks that they continue the cursor: the first has
 * index `expectedFirst` and each next one follows without a gap. Throws
 * AUDIT_FORWARD_SOURCE_GAP or AUDIT_FORWARD_BAD_ENTRY; never skips an entry.
 */
export function prepareEntries(entries: readonly LogEntry[], expectedFirst: number): ForwardEntry[] {
  return entries.map((entry, i) => {
    const expected = expectedFirst + i;
    if (entry.index !== expected) {
      throw forwardError('SOURCE_GAP', `log source returned index ${entry.index} where ${expected} was expected`);
    }
    let event: unknown;
    try {
      event = JSON.parse(entry.eventJson);
    } catch {
      throw forwardError('BAD_ENTRY', `entry ${entry.index} is not valid JSON`);
    }
    const eventId = (event as { metadata?: { uid?: unknown } } | null)?.metadata?.uid;
    if (typeof event !== 'object' || event === null || Array.isArray(event) || typeof eventId !== 'string' || eventId === '') {
      throw forwardError('BAD_ENTRY', `entry ${entry.index} is not an event with metadata.uid`);
    }
    return { index: entry.index, eventJson: entry.eventJson, leafHash: entry.leafHash, event: event as OcsfEvent, eventId };
  });
}
