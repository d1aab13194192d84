/**
 * C2SP signed-note (https://c2sp.org/signed-note) with Ed25519 signatures:
 *
 *   <text, ending in a newline>
 *   <blank line>
 *   — <key name> <base64(4-byte key ID || 64-byte signature)>
 *
 * key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4];
 * verifier key = <name>+<8 hex key ID>+<base64(0x01 || public key)>.
 * Parsing is strict (canonical base64, no control characters, at most 100
 * signatures, 1 MiB); signatures from unknown keys are ignored, a failing
 * signature from a known key rejects the whole note, and a note with no
 * verified signature is rejected.
 */
import { KeyObject, createHash } from 'node:crypto';
import { ed25519PublicKeyFromRaw, ed25519RawPublicKey, ed25519Sign, ed25519Verify } from './ed25519.js';
import { auditError } from './errors.js';
import { decodeBase64Strict, hasControlExceptNewline, isWellFormedUnicode } from './text.js';

const SIGNATURE_PREFIX = '\u2014 ';
const ED25519_TYPE = 0x01;
const MAX_NOTE_BYTES = 1 << 20;
const MAX_SIGNATURES = 100;
const UNICODE_SPACE = /[\s\u0085\p{Z}]/u;

/** A key that signs notes: the key name and its Ed25519 private key. */
export interface NoteSigner {
  readonly name: string;
  readonly privateKey: KeyObject;
}

/** A trusted key: name, key ID (uint32) and Ed25519 public key. */
export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  readonly publicKey: KeyObject;
}

/** One signature line of a note. */
export interface NoteSignature {
  readonly name: string;
  readonly keyId: number;
  readonly signature: Buffer;
}

/** A note split into its text and signature lines (nothing verified). */
export interface SplitNote {
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

/** A verified note: its text, the signatures that verified, and those from unknown keys. */
export interface OpenedNote {
  readonly text: string;
  readonly verified: readonly NoteSignature[];
  readonly unverified: readonly NoteSignature[];
}

/** True iff `name` is a valid key name: non-empty, well-formed, no Unicode space, no '+', no control character. */
export function isValidKeyName(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    name.length > 0 &&
    !name.includes('+') &&
    !UNICODE_SPACE.test(name) &&
    !hasControlExceptNewline(name) &&
    isWellFormedUnicode(name)
  );
}

/** The Ed25519 key ID of (name, 32-byte public key) as an unsigned 32-bit integer. */
export function noteKeyId(name: string, publicKey: Uint8Array): number {
  const digest = createHash('sha256').update(name, 'utf8').update(Buffer.from([0x0a, ED25519_TYPE])).update(publicKey).digest();
  return digest.readUInt32BE(0);
}

const hex8 = (id: number): string => id.toString(16).padStart(8, '0');
const rawKey = (key: KeyObject | Uint8Array): Buffer => (key instanceof KeyObject ? ed25519RawPublicKey(key) : Buffer.from(key));

/** A verifier for `name` and an Ed25519 public key (KeyObject or 32 raw bytes). Throws AUDIT_KEY_INVALID. */
export function noteVerifier(name: string, publicKey: KeyObject | Uint8Array): NoteVerifier {
  if (!isValidKeyName(name)) throw auditError('KEY_INVALID', 'invalid key name');
  const raw = rawKey(publicKey);
  return { name, keyId: noteKeyId(name, raw), publicKey: ed25519PublicKeyFromRaw(raw) };
}

/** The verifier key string `<name>+<hex key ID>+<base64(0x01 || public key)>`. */
export function formatVerifierKey(name: string, publicKey: KeyObject | Uint8Array): string {
  const verifier = noteVerifier(name, publicKey);
  const encoded = Buffer.concat([Buffer.from([ED25519_TYPE]), rawKey(publicKey)]).toString('base64');
  return `${name}+${hex8(verifier.keyId)}+${encoded}`;
}

/** Parses a verifier key string strictly (Ed25519 only; the key ID must match). Throws AUDIT_KEY_INVALID. */
export function parseVerifierKey(vkey: string): NoteVerifier {
  const invalid = (why: string) => auditError('KEY_INVALID', `verifier key: ${why}`);
  if (typeof vkey !== 'string') throw invalid('not a string');
  const first = vkey.indexOf('+');
  const second = vkey.indexOf('+', first + 1);
  if (first < 0 || second < 0) throw invalid('expected <name>+<hash>+<key>');
  const [name, hash, encoded] = [vkey.slice(0, first), vkey.slice(first + 1, second), vkey.slice(second + 1)];
  if (!isValidKeyName(name)) throw invalid('invalid key name');
  if (!/^[0-9a-f]{8}$/.test(hash)) throw invalid('key ID must be 8 lowercase hex digits');
  const bytes = decodeBase64Strict(encoded);
  if (!bytes || bytes.length !== 33 || bytes[0] !== ED25519_TYPE) throw invalid('not an Ed25519 key');
  const verifier = noteVerifier(name, bytes.subarray(1));
  if (hex8(verifier.keyId) !== hash) throw invalid('key ID does not match the key');
  return verifier;
}

function assertNoteText(text: string): void {
  const fail = (why: string) => auditError('NOTE_MALFORMED', `note text ${why}`);
  if (typeof text !== 'string' || text.length === 0 || !text.endsWith('\n')) throw fail('must be non-empty and end with a newline');
  if (hasControlExceptNewline(text) || !isWellFormedUnicode(text)) throw fail('must be valid UTF-8 without control characters');
  // Half the limit leaves room for signatures: what we sign, openNote must accept.
  if (Buffer.byteLength(text, 'utf8') > MAX_NOTE_BYTES / 2) throw fail('is too long');
}

/**
 * Signs `text` (which must end in a newline) with one or more keys and
 * returns the signed note. The Ed25519 signature covers the UTF-8 bytes of
 * the text, final newline included.
 */
export function signNote(text: string, signers: NoteSigner | readonly NoteSigner[]): string {
  assertNoteText(text);
  const list = Array.isArray(signers) ? signers : [signers as NoteSigner];
  if (list.length === 0) throw auditError('KEY_INVALID', 'at least one signer is required');
  const message = Buffer.from(text, 'utf8');
  const lines = list.map((signer) => {
    if (!isValidKeyName(signer.name)) throw auditError('KEY_INVALID', 'invalid key name');
    const keyId = Buffer.alloc(4);
    keyId.writeUInt32BE(noteKeyId(signer.name, ed25519RawPublicKey(signer.privateKey)));
    const signature = ed25519Sign(signer.privateKey, message);
    return `${SIGNATURE_PREFIX}${signer.name} ${Buffer.concat([keyId, signature]).toString('base64')}\n`;
  });
  return `${text}\n${lines.join('')}`;
}

function parseSignatureLine(line: string): NoteSignature {
  const fail = () => auditError('NOTE_MALFORMED', 'malformed signature line');
  if (!line.startsWith(SIGNATURE_PREFIX)) throw fail();
  const rest = line.slice(SIGNATURE_PREFIX.length);
  const space = rest.indexOf(' ');
  const name = rest.slice(0, space);
  const bytes = space > 0 ? decodeBase64Strict(rest.slice(space + 1)) : undefined;
  if (!isValidKeyName(name) || !bytes || bytes.length < 5) throw fail();
  return { name, keyId: bytes.readUInt32BE(0), signature: bytes.subarray(4) };
}

function decodeNote(note: string | Uint8Array): string {
  if (typeof note === 'string') return note;
  if (!(note instanceof Uint8Array)) throw auditError('NOTE_MALFORMED', 'a note is text');
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(note);
  } catch {
    throw auditError('NOTE_MALFORMED', 'note is not valid UTF-8');
  }
}

/** Splits a signed note into text and signature lines without verifying anything. Throws AUDIT_NOTE_MALFORMED. */
export function splitNote(note: string | Uint8Array): SplitNote {
  const s = decodeNote(note);
  const fail = (why: string) => auditError('NOTE_MALFORMED', why);
  if (Buffer.byteLength(s, 'utf8') > MAX_NOTE_BYTES) throw fail('note is too large');
  if (hasControlExceptNewline(s) || !isWellFormedUnicode(s)) throw fail('note contains control characters or invalid Unicode');
  const split = s.lastIndexOf('\n\n');
  if (split < 0) throw fail('note has no blank line before its signatures');
  const text = s.slice(0, split + 1);
  const block = s.slice(split + 2);
  if (block.length === 0 || !block.endsWith('\n')) throw fail('note signatures must be newline-terminated lines');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw fail('note has too many signatures');
  return { text, signatures: lines.map(parseSignatureLine) };
}

/**
 * Opens a signed note against trusted verifiers. Returns the text once at
 * least one trusted signature verifies. Throws AUDIT_NOTE_MALFORMED (framing,
 * duplicate signer), AUDIT_NOTE_BAD_SIGNATURE (a trusted key's signature
 * fails) or AUDIT_NOTE_UNKNOWN_KEY (no signature from a trusted key).
 */
export function openNote(note: string | Uint8Array, verifiers: readonly NoteVerifier[]): OpenedNote {
  const { text, signatures } = splitNote(note);
  const message = Buffer.from(text, 'utf8');
  const seen = new Set<string>();
  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  for (const sig of signatures) {
    const id = `${sig.name}+${hex8(sig.keyId)}`;
    if (seen.has(id)) throw auditError('NOTE_MALFORMED', `two signatures from ${id}`);
    seen.add(id);
    const verifier = verifiers.find((v) => v.name === sig.name && v.keyId === sig.keyId);
    if (!verifier) {
      unverified.push(sig);
    } else if (ed25519Verify(verifier.publicKey, message, sig.signature)) {
      verified.push(sig);
    } else {
      throw auditError('NOTE_BAD_SIGNATURE', `signature by ${id} does not verify`);
    }
  }
  if (verified.length === 0) throw auditError('NOTE_UNKNOWN_KEY', 'no signature from a trusted key');
  return { text, verified, unverified };
}
