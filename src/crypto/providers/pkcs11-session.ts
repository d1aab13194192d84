import { createHash } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import type { CustosError } from '../../shared/errors.js';
import { cryptoError, KeyErrorCode } from '../errors.js';

/** The slice of pkcs11js this layer calls (an injectable seam for tests). */
export type Pkcs11Api = Pick<
  pkcs11js.PKCS11,
  | 'C_Initialize'
  | 'C_Finalize'
  | 'C_GetSlotList'
  | 'C_GetTokenInfo'
  | 'C_OpenSession'
  | 'C_CloseSession'
  | 'C_Login'
  | 'C_Logout'
  | 'C_FindObjectsInit'
  | 'C_FindObjects'
  | 'C_FindObjectsFinal'
  | 'C_GetAttributeValue'
  | 'C_GenerateKey'
  | 'C_EncryptInit'
  | 'C_Encrypt'
  | 'C_DecryptInit'
  | 'C_Decrypt'
>;

/** Options of the session owner. */
export interface HsmSessionOptions {
  /** Path of the PKCS#11 module (.so). */
  library: string;
  /** Token label (slot ids move in SoftHSM; labels do not). */
  tokenLabel: string;
  /** User PIN; sent to C_Login once per initialisation, never retried. */
  pin: string;
  /** Loads the module (tests wrap it to count calls). */
  loadModule?: (library: string) => Pkcs11Api;
  /** Current process id (tests simulate a fork). */
  processId?: () => number;
}

/** Handed to run() callbacks: the API, the logged-in session, and a counter that changes on re-initialisation. */
export interface HsmContext {
  readonly api: Pkcs11Api;
  readonly session: Buffer;
  readonly generation: number;
}

// One owner per PKCS#11 module per process: C_Initialize/C_Finalize are
// process-global, so two owners would finalise each other's sessions.
const owners = new Set<string>();
// PINs a token already rejected in this process (as digests): never sent again.
const rejectedPins = new Set<string>();

function pinTag(library: string, token: string, pin: string): string {
  return createHash('sha256').update(`${library}\0${token}\0${pin}`).digest('base64');
}

function defaultLoad(library: string): Pkcs11Api {
  const api = new pkcs11js.PKCS11();
  api.load(library);
  return api;
}

function ckr(e: unknown): string {
  const m = /CKR_[A-Z_]+/.exec(e instanceof Error ? e.message : '');
  return m === null ? 'unknown error' : m[0];
}

function ckrCode(e: unknown): number | undefined {
  return e instanceof pkcs11js.Pkcs11Error ? e.code : undefined;
}

/** Maps a PKCS#11 failure to a coded error naming the step and the CKR_ name (never the PIN). */
export function hsmFailure(e: unknown, step: string, token: string): CustosError {
  const code = ckrCode(e);
  if (code === pkcs11js.CKR_PIN_INCORRECT) {
    return cryptoError(KeyErrorCode.HSM_PIN_WRONG, `wrong PIN for HSM token "${token}" (not retried)`);
  }
  if (code === pkcs11js.CKR_PIN_LOCKED) {
    return cryptoError(KeyErrorCode.HSM_PIN_LOCKED, `the user PIN of HSM token "${token}" is locked`);
  }
  if (code === pkcs11js.CKR_TOKEN_NOT_PRESENT || code === pkcs11js.CKR_DEVICE_REMOVED) {
    return cryptoError(KeyErrorCode.HSM_TOKEN_MISSING, `HSM token "${token}" is not present`);
  }
  return cryptoError(KeyErrorCode.HSM_ERROR, `HSM ${step} on token "${token}" failed: ${ckr(e)}`);
}

/**
 * The single owner of a PKCS#11 module's session in this process. Logs in
 * once, serialises every operation, and re-initialises (C_Finalize,
 * C_Initialize, find token, open session, log in) when the process id
 * differs from the one that initialised (a fork inherits a dead library
 * state). A wrong PIN is reported once and never sent again.
 */
export class HsmSession {
  readonly #o: HsmSessionOptions;
  readonly #pid: () => number;
  #api: Pkcs11Api | null = null;
  #session: Buffer | null = null;
  #initPid = -1;
  #generation = 0;
  #closed = false;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(o: HsmSessionOptions) {
    this.#o = o;
    this.#pid = o.processId ?? ((): number => process.pid);
  }

  /** Loads the module, finds the token by label, opens a session and logs in. */
  static async open(o: HsmSessionOptions): Promise<HsmSession> {
    if (owners.has(o.library)) {
      throw cryptoError(KeyErrorCode.HSM_BUSY, `PKCS#11 module ${o.library} already has an owner in this process`);
    }
    owners.add(o.library);
    const s = new HsmSession(o);
    try {
      s.#connect();
    } catch (e) {
      s.#teardown();
      owners.delete(o.library);
      throw e;
    }
    return s;
  }

  #load(): Pkcs11Api {
    try {
      return (this.#o.loadModule ?? defaultLoad)(this.#o.library);
    } catch {
      throw cryptoError(KeyErrorCode.HSM_LIBRARY, `cannot load PKCS#11 module ${this.#o.library}`);
    }
  }

  #connect(): void {
    const { tokenLabel: token, library, pin } = this.#o;
    const api = this.#api ?? this.#load();
    this.#api = api;
    try {
      api.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    } catch (e) {
      if (ckrCode(e) !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw hsmFailure(e, 'C_Initialize', token);
    }
    this.#initPid = this.#pid();
    const slot = this.#findSlot(api);
    if (rejectedPins.has(pinTag(library, token, pin))) {
      throw cryptoError(KeyErrorCode.HSM_PIN_WRONG, `wrong PIN for HSM token "${token}" (rejected before; not retried)`);
    }
    const flags = pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION;
    this.#session = this.#call(() => api.C_OpenSession(slot, flags), 'C_OpenSession');
    try {
      api.C_Login(this.#session, pkcs11js.CKU_USER, pin);
    } catch (e) {
      if (ckrCode(e) === pkcs11js.CKR_PIN_INCORRECT) rejectedPins.add(pinTag(library, token, pin));
      if (ckrCode(e) !== pkcs11js.CKR_USER_ALREADY_LOGGED_IN) throw hsmFailure(e, 'C_Login', token);
    }
    this.#generation += 1;
  }

  #findSlot(api: Pkcs11Api): Buffer {
    const token = this.#o.tokenLabel;
    const slots = this.#call(() => api.C_GetSlotList(true), 'C_GetSlotList');
    const infos = slots.map((slot) => ({ slot, info: this.#call(() => api.C_GetTokenInfo(slot), 'C_GetTokenInfo') }));
    const found = infos.filter((x) => x.info.label.trim() === token);
    if (found.length !== 1) {
      const why = found.length === 0 ? 'no token is labelled' : 'several tokens are labelled';
      throw cryptoError(KeyErrorCode.HSM_TOKEN_MISSING, `${why} "${token}" in ${this.#o.library}`);
    }
    if ((found[0]!.info.flags & pkcs11js.CKF_USER_PIN_LOCKED) !== 0) {
      throw cryptoError(KeyErrorCode.HSM_PIN_LOCKED, `the user PIN of HSM token "${token}" is locked`);
    }
    return found[0]!.slot;
  }

  #call<T>(fn: () => T, step: string): T {
    try {
      return fn();
    } catch (e) {
      throw hsmFailure(e, step, this.#o.tokenLabel);
    }
  }

  /** Best effort: log out, close the session, finalise. Never throws. */
  #teardown(): void {
    const api = this.#api;
    if (api === null) return;
    if (this.#session !== null) {
      for (const step of [(): void => api.C_Logout(this.#session!), (): void => api.C_CloseSession(this.#session!)]) {
        try {
          step();
        } catch {
          // already logged out / closed (e.g. after a fork)
        }
      }
    }
    this.#session = null;
    try {
      api.C_Finalize();
    } catch {
      // not initialised in this process
    }
  }

  /** Drops the inherited (or failed) state and connects afresh; a rejected PIN is never re-sent. */
  #reconnect(): void {
    this.#session = null;
    try {
      this.#api?.C_Finalize();
    } catch {
      // a forked child may find the library uninitialised: fine
    }
    try {
      this.#connect();
    } catch (e) {
      this.#teardown();
      throw e;
    }
  }

  /**
   * Runs `fn` with the session, after every earlier call finished (one
   * operation at a time). Re-initialises first if the process id changed.
   * Throws KEY_PROVIDER_CLOSED after close().
   */
  run<T>(fn: (ctx: HsmContext) => T): Promise<T> {
    const task = (): T => {
      if (this.#closed) throw cryptoError(KeyErrorCode.PROVIDER_CLOSED, 'PKCS#11 root key provider is closed');
      if (this.#pid() !== this.#initPid || this.#session === null) this.#reconnect();
      return fn({ api: this.#api!, session: this.#session!, generation: this.#generation });
    };
    const result = this.#queue.then(task, task);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  /** Logs out, closes the session, finalises the module and releases ownership. Idempotent. */
  async close(): Promise<void> {
    await this.#queue;
    if (this.#closed) return;
    this.#closed = true;
    this.#teardown();
    owners.delete(this.#o.library);
  }
}
