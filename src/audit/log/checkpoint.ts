/**
 * C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): the signed-note
 * text that commits a log to its tree head.
 *
 *   <origin>\n<tree size, decimal, no leading zeros>\n<base64 root hash>\n[<extension line>\n]*
 *
 * Parsing is strict: exactly the canonical spelling of every field, a 32-byte
 * root, non-empty extension lines, nothing else.
 */
import { auditError } from './errors.js';
import { HASH_SIZE, isHash } from './hash.js';
import { isTreeSize } from './merkle.js';
import { openNote, signNote, type NoteSigner, type NoteVerifier, type OpenedNote } from './note.js';
import { decodeBase64Strict, hasControlExceptNewline, isWellFormedUnicode } from './text.js';

/** A log's tree head as a checkpoint states it. */
export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly root: Buffer;
  readonly extensions: readonly string[];
}

/** A checkpoint opened from a signed note, with the signatures that verified it. */
export interface OpenedCheckpoint extends Checkpoint {
  readonly note: OpenedNote;
}

const SIZE = /^(0|[1-9][0-9]*)$/;

function isLine(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    !value.includes('\n') &&
    !hasControlExceptNewline(value) &&
    isWellFormedUnicode(value)
  );
}

/** The checkpoint body (note text) of `checkpoint`. Throws AUDIT_CHECKPOINT_MALFORMED for fields it cannot carry. */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  const { origin, size, root, extensions = [] } = checkpoint;
  if (!isLine(origin)) throw auditError('CHECKPOINT_MALFORMED', 'origin must be one non-empty line');
  if (!isTreeSize(size)) throw auditError('CHECKPOINT_MALFORMED', 'size must be a safe non-negative integer');
  if (!isHash(root)) throw auditError('CHECKPOINT_MALFORMED', `root must be ${HASH_SIZE} bytes`);
  if (!extensions.every(isLine)) throw auditError('CHECKPOINT_MALFORMED', 'extension lines must be non-empty single lines');
  const lines = [origin, String(size), Buffer.from(root).toString('base64'), ...extensions];
  return `${lines.join('\n')}\n`;
}

/** Parses a checkpoint body strictly. Throws AUDIT_CHECKPOINT_MALFORMED naming the first fault. */
export function parseCheckpoint(text: string): Checkpoint {
  const fail = (why: string) => auditError('CHECKPOINT_MALFORMED', `checkpoint: ${why}`);
  if (typeof text !== 'string' || !text.endsWith('\n')) throw fail('must end with a newline');
  if (hasControlExceptNewline(text) || !isWellFormedUnicode(text)) throw fail('control characters or invalid Unicode');
  const [origin, sizeText, rootText, ...extensions] = text.slice(0, -1).split('\n');
  if (origin === undefined || sizeText === undefined || rootText === undefined) throw fail('needs origin, size and root lines');
  if (origin.length === 0) throw fail('empty origin');
  if (!SIZE.test(sizeText) || !isTreeSize(Number(sizeText))) throw fail('size is not a canonical decimal safe integer');
  const root = decodeBase64Strict(rootText);
  if (!root || root.length !== HASH_SIZE) throw fail(`root is not canonical base64 of ${HASH_SIZE} bytes`);
  if (extensions.some((line) => line.length === 0)) throw fail('empty extension line');
  return { origin, size: Number(sizeText), root, extensions };
}

/** Formats `checkpoint` and signs it: the signed note to store and publish. */
export function signCheckpoint(checkpoint: Checkpoint, signers: NoteSigner | readonly NoteSigner[]): string {
  return signNote(formatCheckpoint(checkpoint), signers);
}

/**
 * Opens a signed checkpoint: verifies the note (see openNote for its errors),
 * parses the body strictly and, when `origin` is given, requires it
 * (AUDIT_CHECKPOINT_MALFORMED otherwise).
 */
export function openCheckpoint(note: string | Uint8Array, verifiers: readonly NoteVerifier[], origin?: string): OpenedCheckpoint {
  const opened = openNote(note, verifiers);
  const checkpoint = parseCheckpoint(opened.text);
  if (origin !== undefined && checkpoint.origin !== origin) {
    throw auditError('CHECKPOINT_MALFORMED', `checkpoint origin is not ${origin}`);
  }
  return { ...checkpoint, note: opened };
}
