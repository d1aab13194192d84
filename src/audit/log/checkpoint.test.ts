/**
 * Signed notes and checkpoints against known-good data:
 *  - the Ed25519 signed note of golang.org/x/mod/sumdb/note (the reference
 *    implementation; key "PeterNeumann", published in its package docs and
 *    tests): Ed25519 is deterministic, so signing must reproduce it byte for byte;
 *  - the examples of the C2SP signed-note and tlog-checkpoint specifications
 *    (their keys are not published: they must parse, and be refused as unknown).
 */
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatCheckpoint, openCheckpoint, parseCheckpoint, signCheckpoint } from './checkpoint.js';
import { ed25519PrivateKeyFromSeed } from './ed25519.js';
import { formatVerifierKey, noteVerifier, openNote, parseVerifierKey, signNote, splitNote } from './note.js';

const GO_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const GO_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_NOTE = `${GO_TEXT}\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;
// The private key is the base64 after the fourth '+' (the base64 itself may contain '+'): 0x01 || seed.
const GO_SEED = Buffer.from(GO_SKEY.split('+').slice(4).join('+'), 'base64').subarray(1);

const SPEC_CHECKPOINT_BODY = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
const SPEC_CHECKPOINT = `${SPEC_CHECKPOINT_BODY}\n\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n`;
const SPEC_NOTE_TEXT = 'Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n';
const SPEC_NOTE = `${SPEC_NOTE_TEXT}\n\u2014 quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n`;

const code = (c: string) => expect.objectContaining({ code: c });
const newSigner = (name = 'custos.test/log') => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { signer: { name, privateKey }, verifier: noteVerifier(name, publicKey) };
};

describe('signed note: Go sumdb/note reference vector', () => {
  const signer = { name: 'PeterNeumann', privateKey: ed25519PrivateKeyFromSeed(GO_SEED) };

  it('signs byte for byte like the reference implementation', () => {
    expect(signNote(GO_TEXT, signer)).toBe(GO_NOTE);
    expect(formatVerifierKey('PeterNeumann', signer.privateKey)).toBe(GO_VKEY);
  });

  it('opens with the published verifier key and refuses any change to the text', () => {
    const verifier = parseVerifierKey(GO_VKEY);
    expect(verifier.keyId).toBe(0xc74f20a3);
    const opened = openNote(GO_NOTE, [verifier]);
    expect(opened.text).toBe(GO_TEXT);
    expect(opened.verified.map((s) => s.name)).toEqual(['PeterNeumann']);
    expect(() => openNote(GO_NOTE.replace('cryptography', 'cryptographY'), [verifier])).toThrow(code('AUDIT_NOTE_BAD_SIGNATURE'));
    expect(() => openNote(Buffer.from(GO_NOTE), [verifier])).not.toThrow();
  });

  it('refuses every truncation and every one-character change of the verifier key', () => {
    for (let i = 0; i <= GO_VKEY.length; i++) {
      for (let j = i + 1; j <= GO_VKEY.length; j++) {
        if (i === 0 && j === GO_VKEY.length) continue;
        expect(() => parseVerifierKey(GO_VKEY.slice(i, j))).toThrow(code('AUDIT_KEY_INVALID'));
      }
    }
    for (let i = 0; i < GO_VKEY.length; i++) {
      const changed = GO_VKEY.slice(0, i) + String.fromCharCode(GO_VKEY.charCodeAt(i) + 1) + GO_VKEY.slice(i + 1);
      expect(() => parseVerifierKey(changed)).toThrow(code('AUDIT_KEY_INVALID'));
    }
  });
});

describe('C2SP specification examples', () => {
  it('parses and re-formats the tlog-checkpoint example body exactly', () => {
    const cp = parseCheckpoint(SPEC_CHECKPOINT_BODY);
    expect(cp).toMatchObject({ origin: 'example.com/behind-the-sofa', size: 20852163, extensions: [] });
    expect(cp.root.length).toBe(32);
    expect(formatCheckpoint(cp)).toBe(SPEC_CHECKPOINT_BODY);
  });

  it('splits the examples at the last blank line and refuses their unpublished keys', () => {
    expect(splitNote(SPEC_CHECKPOINT).text).toBe(SPEC_CHECKPOINT_BODY);
    const split = splitNote(SPEC_NOTE);
    expect(split.text).toBe(SPEC_NOTE_TEXT);
    expect(split.signatures).toHaveLength(1);
    expect(split.signatures[0]!.signature.length).toBe(64);
    const { verifier } = newSigner('example.com/behind-the-sofa');
    expect(() => openCheckpoint(SPEC_CHECKPOINT, [verifier])).toThrow(code('AUDIT_NOTE_UNKNOWN_KEY'));
  });
});

describe('checkpoints signed by Custos', () => {
  const { signer, verifier } = newSigner();
  const root = Buffer.alloc(32, 7);

  it('round-trip with extension lines, multiple signers and an expected origin', () => {
    const other = newSigner('witness.example/w1');
    const note = signCheckpoint({ origin: 'custos.test/log', size: 42, root, extensions: ['ext one'] }, [signer, other.signer]);
    const opened = openCheckpoint(note, [verifier], 'custos.test/log');
    expect(opened).toMatchObject({ origin: 'custos.test/log', size: 42, root, extensions: ['ext one'] });
    expect(opened.note.unverified.map((s) => s.name)).toEqual(['witness.example/w1']);
    expect(() => openCheckpoint(note, [verifier], 'other/log')).toThrow(code('AUDIT_CHECKPOINT_MALFORMED'));
  });

  it('rejects every malformed body', () => {
    const r = root.toString('base64');
    const bad = [
      `o\n1\n${r}`, `\n1\n${r}\n`, `o\n01\n${r}\n`, `o\n+1\n${r}\n`, `o\n-1\n${r}\n`, `o\n1.0\n${r}\n`, `o\n 1\n${r}\n`,
      `o\n9007199254740992\n${r}\n`, `o\n1\n${r.slice(0, 42)}x=\n`, `o\n1\n${Buffer.alloc(31).toString('base64')}\n`,
      `o\n1\n${r.replace('=', '')}\n`, `o\n1\n${r}\n\n`, `o\r\n1\n${r}\n`, `o\n1\n`, `o\n1\n${r}\nx\u0007\n`,
    ];
    for (const text of bad) expect(() => parseCheckpoint(text), JSON.stringify(text)).toThrow(code('AUDIT_CHECKPOINT_MALFORMED'));
    expect(() => formatCheckpoint({ origin: 'a\nb', size: 1, root, extensions: [] })).toThrow(code('AUDIT_CHECKPOINT_MALFORMED'));
    expect(() => formatCheckpoint({ origin: 'o', size: -1, root, extensions: [] })).toThrow(code('AUDIT_CHECKPOINT_MALFORMED'));
    expect(() => formatCheckpoint({ origin: 'o', size: 1, root, extensions: [''] })).toThrow(code('AUDIT_CHECKPOINT_MALFORMED'));
  });

  it('rejects malformed notes, duplicate signers, forged and unknown signatures', () => {
    const note = signCheckpoint({ origin: 'custos.test/log', size: 1, root, extensions: [] }, signer);
    const [body, sigLine] = [note.slice(0, note.lastIndexOf('\n\n') + 1), note.slice(note.lastIndexOf('\n\n') + 2)];
    const malformed = [
      body + sigLine, `${body}\n`, `${body}\n${sigLine.replace('\u2014', '-')}`, `${body}\n${sigLine.trimEnd()}`,
      `${body}\n${sigLine.replace(' ', '  ')}`, `${body}\n\u2014 custos.test/log AAAA\n`, `${body}\n${sigLine.replace('=\n', '\n')}`,
      `${body}\n${sigLine}${sigLine}`, `${body}\n${sigLine.repeat(101)}`, `${body}\n\u2014 a+b ${sigLine.split(' ')[2]}`,
    ];
    for (const n of malformed) expect(() => openNote(n, [verifier]), JSON.stringify(n)).toThrow(code('AUDIT_NOTE_MALFORMED'));
    expect(() => openNote(Buffer.from([0xff, 0x0a, 0x0a]), [verifier])).toThrow(code('AUDIT_NOTE_MALFORMED'));
    expect(() => openNote(note.replace('\n1\n', '\n2\n'), [verifier])).toThrow(code('AUDIT_NOTE_BAD_SIGNATURE'));
    // Same name, other key: another key ID, so the signature is not ours to check.
    const stranger = newSigner().verifier;
    expect(() => openNote(note, [stranger])).toThrow(code('AUDIT_NOTE_UNKNOWN_KEY'));
    // Name and key ID of a trusted key but another public key (an ID collision): must be verified, and fail.
    expect(() => openNote(note, [{ ...stranger, keyId: verifier.keyId }])).toThrow(code('AUDIT_NOTE_BAD_SIGNATURE'));
  });

  it('refuses any one-character change of a signed checkpoint (fast-check)', () => {
    const note = signCheckpoint({ origin: 'custos.test/log', size: 123456, root, extensions: [] }, signer);
    fc.assert(
      fc.property(fc.nat(note.length - 1), fc.integer({ min: 1, max: 0xffff }), (at, delta) => {
        const ch = String.fromCharCode((note.charCodeAt(at) + delta) % 0x10000);
        const changed = note.slice(0, at) + ch + note.slice(at + 1);
        expect(() => openCheckpoint(changed, [verifier], 'custos.test/log')).toThrow();
      }),
      { numRuns: 500 },
    );
  });
});
