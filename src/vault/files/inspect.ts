// Upload inspection: what the bytes are (magic numbers via file-type and our
// own executable magics), whether that is what the client declared, whether
// the type is allowed, and that no executable or script hides in it (in text
// by script signs, in archives entry by entry). Checks run in a fixed order
// so the answer is stable: executable (422) before type (415).
import { isUtf8 } from 'node:buffer';
import { Transform, type TransformCallback } from 'node:stream';
import { fileTypeFromBuffer } from 'file-type';
import { executableMagic, EXECUTABLE_EXTENSIONS, extensionOf, isMarkup, pdfActiveContent, scriptKind } from './detect.js';
import { vaultFileErrors } from './errors.js';
import { inspectZip, isZip, type ZipLimits } from './zip.js';

export const DOCX_TYPE = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
export const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const PPTX_TYPE = 'application/vnd.openxmlformats-officedocument.presentationml.presentation';

/** Content types accepted by default (a config may narrow or widen it). */
export const DEFAULT_ALLOWED_TYPES: readonly string[] = [
  'application/pdf',
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'text/csv',
  'text/plain',
  DOCX_TYPE,
  XLSX_TYPE,
];

const ALIASES: Readonly<Record<string, string>> = {
  'image/jpg': 'image/jpeg',
  'image/pjpeg': 'image/jpeg',
  'image/x-png': 'image/png',
  'application/x-pdf': 'application/pdf',
  'application/acrobat': 'application/pdf',
  'text/comma-separated-values': 'text/csv',
  'text/x-csv': 'text/csv',
  'application/csv': 'text/csv',
  'application/x-zip-compressed': 'application/zip',
};

const TEXT_TYPES = new Set(['text/plain', 'text/csv']);
/** Types file-type reports for text formats: those go through the text checks. */
const TEXTUAL_SNIFFS = new Set(['application/xml', 'text/xml', 'image/svg+xml', 'text/html', 'application/javascript', 'text/calendar', 'text/vtt']);
const CONTAINER_TYPES = { docx: DOCX_TYPE, xlsx: XLSX_TYPE, pptx: PPTX_TYPE } as const;
/** Head bytes the sniffers see (file-type needs 4100). */
export const INSPECT_HEAD_BYTES = 16 * 1024;
const SCRIPT_SCAN_CHARS = 256 * 1024;

/** The verdict on an accepted upload. */
export interface UploadVerdict {
  /** Canonical content type (aliases resolved): store and serve this one. */
  type: string;
  kind: 'binary' | 'text' | 'archive';
  /** What was detected, in words (for the audit event). */
  detected: string;
  /** Entries looked at, for archives. */
  entries?: number;
}

/** Options of the inspection. */
export interface InspectOptions {
  /** The client's Content-Type (parameters such as charset are ignored). */
  declaredType: string;
  /** The client's file name, if any: only its extension is used. */
  fileName?: string;
  /** Allow list of canonical types (default DEFAULT_ALLOWED_TYPES). */
  allowedTypes?: readonly string[];
  zipLimits?: Partial<ZipLimits>;
  /** Largest archive held in memory to look into (default 64 MiB); larger ones are refused. */
  maxArchiveBytes?: number;
}

/** A content type lower-cased, without parameters, aliases resolved ('image/jpg' → 'image/jpeg'). */
export function canonicalType(type: string): string {
  const bare = (type ?? '').split(';')[0]!.trim().toLowerCase();
  return ALIASES[bare] ?? bare;
}

type HeadClass = { kind: 'binary'; type: string } | { kind: 'text' } | { kind: 'archive' };

/** Refuses executables by name and magic, then sniffs the type. */
async function classifyHead(head: Buffer, fileName: string | undefined): Promise<HeadClass> {
  if (fileName !== undefined) {
    const ext = extensionOf(fileName);
    if (EXECUTABLE_EXTENSIONS.has(ext)) throw vaultFileErrors.executable(`${ext} file name`);
  }
  const magic = executableMagic(head);
  if (magic !== null) throw vaultFileErrors.executable(magic);
  if (head.subarray(0, 2).toString('latin1') === '#!') throw vaultFileErrors.executable('script with a shebang line');
  if (isZip(head)) return { kind: 'archive' };
  const sniffed = head.length === 0 ? undefined : await fileTypeFromBuffer(head);
  if (sniffed === undefined || TEXTUAL_SNIFFS.has(sniffed.mime)) return { kind: 'text' };
  const type = canonicalType(sniffed.mime);
  if (type === 'application/zip' || type in CONTAINER_TYPES) return { kind: 'archive' };
  if (type === 'application/x-msdownload' || type === 'application/x-elf' || type === 'application/x-mach-binary') {
    throw vaultFileErrors.executable(type);
  }
  return { kind: 'binary', type };
}

/** Refuses a detected type that is not the declared one, or not allowed. */
function decideType(opts: InspectOptions, detectedType: string, detected: string, kind: UploadVerdict['kind']): UploadVerdict {
  const declared = canonicalType(opts.declaredType);
  const allowed = new Set((opts.allowedTypes ?? DEFAULT_ALLOWED_TYPES).map(canonicalType));
  const matches = declared === detectedType || (kind === 'text' && TEXT_TYPES.has(declared) && detectedType === 'text/plain');
  if (!matches) throw vaultFileErrors.typeMismatch(declared || 'no type', detected);
  if (!allowed.has(declared)) throw vaultFileErrors.typeNotAllowed(declared);
  return { type: declared, kind, detected };
}

/** Bytes of `b` that end on a whole UTF-8 character (a cut multi-byte sequence at the end is left out). */
function wholeCharsLength(b: Buffer): number {
  let i = b.length - 1;
  let back = 0;
  while (i >= 0 && back < 3 && ((b[i] as number) & 0xc0) === 0x80) {
    i -= 1;
    back += 1;
  }
  if (i < 0) return b.length;
  const lead = b[i] as number;
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return b.length - i < need ? i : b.length;
}

/** Validates text chunk by chunk: UTF-8 (isUtf8, no strings made), no NUL; keeps the start for the script signs. */
class TextCheck {
  #carry: Buffer = Buffer.alloc(0);
  #start = '';

  update(chunk: Buffer): void {
    if (chunk.includes(0)) throw vaultFileErrors.textInvalid('NUL byte');
    const buf = this.#carry.length === 0 ? chunk : Buffer.concat([this.#carry, chunk]);
    const cut = wholeCharsLength(buf);
    if (!isUtf8(buf.subarray(0, cut))) throw vaultFileErrors.textInvalid('not valid UTF-8');
    this.#carry = Buffer.from(buf.subarray(cut));
    if (this.#start.length < SCRIPT_SCAN_CHARS) {
      this.#start += buf.toString('utf8', 0, Math.min(cut, SCRIPT_SCAN_CHARS * 4)).slice(0, SCRIPT_SCAN_CHARS - this.#start.length);
    }
  }

  /** Ends the text; `complete` false when only a head was seen (a cut multi-byte character is fine then). */
  final(complete: boolean): { type: string; detected: string } {
    if (complete && this.#carry.length > 0) throw vaultFileErrors.textInvalid('not valid UTF-8 (cut character at the end)');
    const kind = scriptKind(this.#start);
    if (kind !== null) throw vaultFileErrors.executable(kind);
    // Markup served as text/plain can still be rendered by a sniffing client: not a text upload.
    if (isMarkup(this.#start)) return { type: 'text/html', detected: 'HTML/XML markup' };
    return { type: 'text/plain', detected: 'text (UTF-8)' };
  }
}

/** Scans a PDF as it streams for active content (names may straddle chunks: a short overlap is kept). */
class PdfCheck {
  #tail = '';

  update(chunk: Buffer): void {
    const text = this.#tail + chunk.toString('latin1');
    const found = pdfActiveContent(text);
    if (found !== null) throw vaultFileErrors.executable(found);
    this.#tail = text.slice(-32);
  }
}

async function decideArchive(opts: InspectOptions, whole: Buffer): Promise<UploadVerdict> {
  const summary = await inspectZip(whole, opts.zipLimits);
  const type = summary.container === null ? 'application/zip' : CONTAINER_TYPES[summary.container];
  const verdict = decideType(opts, type, summary.container ?? 'zip archive', 'archive');
  return { ...verdict, entries: summary.entries };
}

/** Input of inspectUpload. */
export interface InspectUploadInput extends InspectOptions {
  /** The first bytes (at least INSPECT_HEAD_BYTES when the file is longer), or the whole file. */
  head: Buffer;
  /**
   * The whole content, when the head is not all of it: used to look into
   * archives and to validate all of a text. Without it an archive is refused
   * and a text is checked on its head only.
   */
  readAll?: () => Promise<Buffer>;
}

/**
 * Inspects an upload held in memory. Resolves the verdict, or throws a coded
 * refusal (see errors.ts: 415 VAULT_UPLOAD_TYPE_MISMATCH / _TYPE_NOT_ALLOWED,
 * 422 VAULT_UPLOAD_EXECUTABLE / _ARCHIVE_UNSAFE / _TEXT_INVALID) whose
 * extensions carry `reason` and `detected` (uploadRefusal(e) reads them).
 */
export async function inspectUpload(input: InspectUploadInput): Promise<UploadVerdict> {
  const cls = await classifyHead(input.head, input.fileName);
  if (cls.kind === 'binary') {
    if (cls.type === 'application/pdf') new PdfCheck().update(input.readAll === undefined ? input.head : await input.readAll());
    return decideType(input, cls.type, cls.type, 'binary');
  }
  if (cls.kind === 'archive') {
    if (input.readAll === undefined) throw vaultFileErrors.archiveUnsafe('archive content not available for inspection');
    return decideArchive(input, await input.readAll());
  }
  const text = new TextCheck();
  const whole = input.readAll === undefined ? input.head : await input.readAll();
  text.update(whole);
  const t = text.final(input.readAll !== undefined);
  return decideType(input, t.type, t.detected, 'text');
}

/**
 * A pass-through Transform that inspects an upload while it streams (put it
 * in FileVault.put's `through`). It holds the first INSPECT_HEAD_BYTES until
 * they are classified, so an executable never reaches the sealer; validates
 * text as it passes; holds archives (up to maxArchiveBytes) to look into them
 * at the end. Any refusal errors the stream, which aborts the put. `verdict()`
 * resolves once the stream ended.
 */
export class UploadInspector extends Transform {
  readonly #opts: InspectOptions;
  #head: Buffer[] = [];
  #headLen = 0;
  #cls: HeadClass | null = null;
  #text: TextCheck | null = null;
  #pdf: PdfCheck | null = null;
  #archive: Buffer[] = [];
  #archiveLen = 0;
  #verdict: UploadVerdict | null = null;

  constructor(opts: InspectOptions) {
    super();
    this.#opts = opts;
  }

  /** The verdict; throws if the stream has not ended successfully. */
  verdict(): UploadVerdict {
    if (this.#verdict === null) throw new Error('the upload inspector has not finished');
    return this.#verdict;
  }

  async #classify(): Promise<void> {
    const head = Buffer.concat(this.#head);
    this.#head = [];
    this.#cls = await classifyHead(head, this.#opts.fileName);
    if (this.#cls.kind === 'text') this.#text = new TextCheck();
    if (this.#cls.kind === 'binary' && this.#cls.type === 'application/pdf') this.#pdf = new PdfCheck();
    this.#pass(head);
  }

  #pass(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.#text !== null) this.#text.update(chunk);
    if (this.#pdf !== null) this.#pdf.update(chunk);
    if (this.#cls?.kind === 'archive') {
      const max = this.#opts.maxArchiveBytes ?? 64 * 1024 * 1024;
      this.#archiveLen += chunk.length;
      if (this.#archiveLen > max) throw vaultFileErrors.archiveUnsafe(`archive over ${max} bytes`);
      this.#archive.push(chunk);
    }
    this.push(chunk);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.#cls !== null) {
      try {
        this.#pass(chunk);
        return done();
      } catch (e) {
        return done(e as Error);
      }
    }
    this.#head.push(chunk);
    this.#headLen += chunk.length;
    if (this.#headLen < INSPECT_HEAD_BYTES) return done();
    this.#classify().then(() => done(), (e: Error) => done(e));
  }

  override _flush(done: TransformCallback): void {
    this.#finish().then(() => done(), (e: Error) => done(e));
  }

  async #finish(): Promise<void> {
    if (this.#cls === null) await this.#classify();
    const cls = this.#cls as HeadClass;
    if (cls.kind === 'binary') this.#verdict = decideType(this.#opts, cls.type, cls.type, 'binary');
    else if (cls.kind === 'archive') this.#verdict = await decideArchive(this.#opts, Buffer.concat(this.#archive));
    else {
      const t = (this.#text as TextCheck).final(true);
      this.#verdict = decideType(this.#opts, t.type, t.detected, 'text');
    }
    this.#archive = [];
  }
}

/** A new streaming inspector; see UploadInspector. */
export function createUploadInspector(opts: InspectOptions): UploadInspector {
  return new UploadInspector(opts);
}
