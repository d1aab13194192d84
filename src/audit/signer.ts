/**
 * The checkpoint signer the sequencer depends on, and how a signed
 * checkpoint is made from it. The key itself lives in the keyring (an
 * Ed25519 platform key wrapped by the root key); this module only needs a
 * public key and a signing function, so the private key never has to leave
 * the keyring's object.
 */
import { createPublicKey, sign, type KeyObject } from 'node:crypto';
import { auditLogError } from './errors.js';
import { ed25519RawPublicKey, formatCheckpoint, formatVerifierKey, noteKeyId, noteVerifier, openNote, type NoteVerifier } from './log/index.js';

/** What the sequencer needs from the keyring's audit signing key. */
export interface CheckpointSigner {
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** Ed25519 signature (64 bytes) of `message`. */
  sign(message: Uint8Array): Uint8Array;
}

/** A signer bound to the log's key name, with the matching verifier. */
export interface CheckpointKey {
  readonly name: string;
  readonly signer: CheckpointSigner;
  readonly verifier: NoteVerifier;
  /** C2SP verifier key `<name>+<key id>+<base64 key>`: what witnesses and `custos audit verify --key` trust. */
  readonly verifierKey: string;
}

/** A signer from an Ed25519 private KeyObject (tests, tools; production signers come from the keyring). */
export function signerFromPrivateKey(privateKey: KeyObject): CheckpointSigner {
  const publicKey = ed25519RawPublicKey(createPublicKey(privateKey));
  return { publicKey, sign: (message) => sign(null, message, privateKey) };
}

/**
 * Binds `signer` to the key name (the checkpoint origin) and proves the pair:
 * a probe note signed by it must open under its own public key, else
 * AUDIT_SIGNER_INVALID (a mismatched key pair would sign checkpoints nobody can verify).
 */
export function checkpointKey(name: string, signer: CheckpointSigner): CheckpointKey {
  const verifier = noteVerifier(name, signer.publicKey);
  const key = { name, signer, verifier, verifierKey: formatVerifierKey(name, signer.publicKey) };
  try {
    openNote(signText(key, `${name}\nsigner self-test\n`), [verifier]);
  } catch {
    throw auditLogError('SIGNER_INVALID', 'the audit checkpoint signer does not match its public key');
  }
  return key;
}

/** Signs note `text` as a C2SP signed note with one Ed25519 signature. */
function signText(key: Pick<CheckpointKey, 'name' | 'signer'>, text: string): string {
  const keyId = Buffer.alloc(4);
  keyId.writeUInt32BE(noteKeyId(key.name, key.signer.publicKey));
  const signature = Buffer.from(key.signer.sign(Buffer.from(text, 'utf8')));
  return `${text}\n\u2014 ${key.name} ${Buffer.concat([keyId, signature]).toString('base64')}\n`;
}

/** The signed C2SP tlog-checkpoint for the tree of `size` with `root`, origin `origin`. */
export function signTreeHead(key: CheckpointKey, origin: string, size: number, root: Uint8Array): string {
  return signText(key, formatCheckpoint({ origin, size, root: Buffer.from(root), extensions: [] }));
}
