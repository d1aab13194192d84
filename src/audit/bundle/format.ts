/**
 * The audit bundle: a self-contained, offline-verifiable slice of the log,
 * as JSON Lines (one header line, one line per entry, one trailer line) so
 * that a year of entries streams in and out in constant memory.
 *
 *   {"format":"custos-audit-bundle/1","kind":"export"|"archive",origin,verifierKey,checkpoint,count,…}
 *   {"index":n,"event":"<RFC 8785 text>","proof":[base64…]}      (proof: export bundles only)
 *   {"end":true,"count":n}
 *
 * export: any selection of entries, each with its inclusion proof in the
 * tree of the checkpoint. archive: the contiguous range [start, end) with
 * the compact range of [0, start) (`prefix`) and a consistency proof from
 * end to the checkpoint, so the whole range is proven complete and unaltered.
 */
export const BUNDLE_FORMAT = 'custos-audit-bundle/1';

export interface BundleHeader {
  format: typeof BUNDLE_FORMAT;
  kind: 'export' | 'archive';
  origin: string;
  /** C2SP verifier key of the log (pin your own copy with --key). */
  verifierKey: string;
  /** The signed checkpoint every proof leads to. */
  checkpoint: string;
  createdAt: string;
  count: number;
  /** export: what was asked for. */
  selection?: { from: string; to: string; tenant: string | null };
  /** archive: the entries [start, end), all of them. */
  range?: { start: number; end: number };
  /** archive: base64 subtree roots of [0, start), largest first. */
  prefix?: string[];
  /** archive: base64 consistency proof from `end` to the checkpoint's size (empty when equal). */
  consistency?: string[];
  /** archive: entries recorded before this time, kept at least `retentionDays`. */
  cutoff?: string;
  retentionDays?: number;
}

export interface BundleEntry {
  index: number;
  event: string;
  proof?: string[];
}

export interface BundleTrailer {
  end: true;
  count: number;
}
