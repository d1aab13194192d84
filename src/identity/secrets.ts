import { createHash, randomBytes } from 'node:crypto';

/** Opaque tokens: 256 random bits with a readable prefix. */
export function newToken(prefix: string): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

/** SHA-256 is right for tokens of 256 random bits (not passwords): a fast, indexable lookup key. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/** Trims and lower-cases; NFKC so look-alike encodings of one address compare equal. */
export function normaliseEmail(email: string): string {
  return email.normalize('NFKC').trim().toLowerCase();
}

/** Ten recovery codes `xxxxx-xxxxx` (50 bits each, RFC 4648 base32 letters). */
export function newRecoveryCodes(n = 10): string[] {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  return Array.from({ length: n }, () => {
    const b = randomBytes(10);
    const s = Array.from(b, (x) => alphabet[x & 31]).join('');
    return `${s.slice(0, 5)}-${s.slice(5)}`;
  });
}

export function normaliseRecoveryCode(code: string): string {
  return code.trim().toLowerCase().replace(/\s+/g, '');
}
