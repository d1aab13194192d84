/**
 * The storage-independent core of the tamper-evident audit log: RFC 6962
 * Merkle tree, C2SP signed checkpoints, RFC 8785 canonical events and the
 * streaming verifier. See README.md for the invariants and formats.
 */
export { AUDIT_ERRORS, type AuditErrorName } from './errors.js';
export { canonicalJson, canonicalJsonBytes, MAX_CANONICAL_DEPTH } from './canonical.js';
export {
  CompactRange,
  EMPTY_ROOT,
  EMPTY_TREE_STATE,
  HASH_SIZE,
  foldRoots,
  frontierNodeIds,
  integrate,
  isTreeSize,
  leafHash,
  loadTreeState,
  merkleRoot,
  nodeHash,
  rangeNodeIds,
  readNodes,
  rootAt,
  type IntegrateResult,
  type NodeId,
  type NodeReader,
  type TreeNode,
  type TreeState,
} from './merkle.js';
export {
  consistencyPlan,
  consistencyProof,
  inclusionPlan,
  inclusionProof,
  resolvePlan,
  verifyConsistency,
  verifyInclusion,
  type ProofPlan,
} from './proof.js';
export { MemoryNodeStore, MemoryTree } from './memory.js';
export { ed25519PrivateKeyFromSeed, ed25519PublicKeyFromRaw, ed25519RawPublicKey, isWeakEd25519PublicKey } from './ed25519.js';
export {
  formatVerifierKey,
  isValidKeyName,
  noteKeyId,
  noteVerifier,
  openNote,
  parseVerifierKey,
  signNote,
  splitNote,
  type NoteSignature,
  type NoteSigner,
  type NoteVerifier,
  type OpenedNote,
  type SplitNote,
} from './note.js';
export {
  formatCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  signCheckpoint,
  type Checkpoint,
  type OpenedCheckpoint,
} from './checkpoint.js';
export {
  verifyLog,
  verifyLogState,
  type EntrySource,
  type LogEntryRecord,
  type LogEntryRun,
  type NoteSource,
  type VerifyFailure,
  type VerifyLogInput,
  type VerifyOk,
  type VerifyReason,
  type VerifyResult,
} from './verify.js';
