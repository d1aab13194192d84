import os from 'node:os';
import { hash as argonHash, verify as argonVerify } from '@node-rs/argon2';
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as en from '@zxcvbn-ts/language-en';
import { identityErrors } from './errors.js';

export interface PasswordPolicy {
  minLength: number;
  maxLength: number;
  minScore: number;
}

// The bundled list of common and breached passwords: zxcvbn's
// passwords-common dictionary (~49k entries from breach corpora), checked
// exactly (case-insensitive) before the strength estimate.
let commonList: Set<string> | undefined;
function isCommon(password: string): boolean {
  commonList ??= new Set(common.dictionary['passwords-common'].map((p) => p.toLowerCase()));
  return commonList.has(password.toLowerCase());
}

let zxcvbn: ZxcvbnFactory | undefined;
function estimator(): ZxcvbnFactory {
  zxcvbn ??= new ZxcvbnFactory({
    dictionary: { ...common.dictionary, ...en.dictionary },
    graphs: common.adjacencyGraphs,
    translations: en.translations,
  });
  return zxcvbn;
}

/** Pieces of the user's own identity a password must not be built from. */
function personalParts(email: string, name: string): string[] {
  const local = email.split('@')[0] ?? '';
  const domain = (email.split('@')[1] ?? '').split('.')[0] ?? '';
  const words = [local, domain, ...name.split(/\s+/), ...local.split(/[._+-]/)];
  return [...new Set(words.map((w) => w.toLowerCase()).filter((w) => w.length >= 3))];
}

/**
 * NIST SP 800-63B §5.1.1.2: length only (no composition rules), refused when
 * common or breached, when zxcvbn scores it below `minScore`, or when it is
 * built from the user's email or name. Throws PASSWORD_POLICY with `reason`.
 */
export function checkPassword(policy: PasswordPolicy, password: string, who: { email: string; name: string }): void {
  const length = [...password].length;
  if (length < policy.minLength) throw identityErrors.password('too_short', `the password needs at least ${policy.minLength} characters`);
  if (length > policy.maxLength) throw identityErrors.password('too_long', `the password may have at most ${policy.maxLength} characters`);
  if (isCommon(password)) throw identityErrors.password('common', 'the password is on a list of common or breached passwords');
  const lower = password.toLowerCase();
  const parts = personalParts(who.email, who.name);
  const stripped = parts.reduce((s, p) => s.split(p).join(''), lower);
  if (parts.some((p) => p.length >= 4 && lower.includes(p)) && [...stripped].length < policy.minLength) {
    throw identityErrors.password('personal', 'the password is too close to your email or name');
  }
  const result = estimator().check(password, parts);
  if (result.score < policy.minScore) {
    throw identityErrors.password('weak', `the password is too easy to guess (strength ${result.score} of 4, needs ${policy.minScore})`);
  }
}

/** OWASP Password Storage Cheat Sheet: argon2id, m = 19 MiB, t = 2, p = 1. */
// algorithm 2 is Argon2id (the package's ambient const enum cannot be imported under verbatimModuleSyntax).
const ARGON2 = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/**
 * Hashes and verifications run on the native thread pool, never on the event
 * loop, and at most `cores - 1` at a time so a login storm leaves a core for
 * the requests already authenticated (the bench's p99 goal).
 */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
}

export function createPasswordHasher(concurrency = Math.max(1, os.availableParallelism() - 1)): PasswordHasher {
  let running = 0;
  const waiting: Array<() => void> = [];
  const limited = async <T>(fn: () => Promise<T>): Promise<T> => {
    if (running >= concurrency) await new Promise<void>((r) => waiting.push(r));
    else running++;
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
  return {
    hash: (password) => limited(() => argonHash(password, ARGON2)),
    verify: (hash, password) => limited(() => argonVerify(hash, password).catch(() => false)),
  };
}
