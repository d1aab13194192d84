/**
 * Syslog-over-TLS framing (RFC 5425 §4.3 octet counting: `MSG-LEN SP
 * SYSLOG-MSG`), and, for senders that cannot count, non-transparent framing
 * (RFC 6587 §3.4.2: messages ended by LF). Chosen per frame by its first
 * byte: a digit is a length, "<" starts an LF-terminated message.
 *
 * Bounded: a frame longer than `maxBytes` is skipped (counted, never
 * buffered whole); a length prefix that is not digits + space cannot be
 * resynchronised and ends the connection.
 */
export type FrameEvent = { kind: 'frame'; data: Buffer } | { kind: 'oversize'; bytes: number } | { kind: 'garbage' };

export class FrameDecoder {
  #buf: Buffer = Buffer.alloc(0);
  /** Bytes still to skip of an oversized octet-counted frame, or -1 while skipping an oversized LF line. */
  #skip = 0;
  readonly #maxBytes: number;
  /** Set once the stream cannot be resynchronised; the caller closes the connection. */
  fatal: string | null = null;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Feeds received bytes; returns the complete frames (and problems) they finish. */
  push(chunk: Buffer): FrameEvent[] {
    const out: FrameEvent[] = [];
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    while (this.#buf.length > 0 && this.fatal === null) {
      if (this.#skip !== 0) {
        if (!this.#skipping()) break;
        continue;
      }
      const first = this.#buf[0] as number;
      const step = first >= 0x30 && first <= 0x39 ? this.#counted(out) : this.#lined(out, first);
      if (!step) break;
    }
    return out;
  }

  /** Drops bytes of an oversized frame; true when it is done with them. */
  #skipping(): boolean {
    if (this.#skip > 0) {
      const n = Math.min(this.#skip, this.#buf.length);
      this.#skip -= n;
      this.#buf = this.#buf.subarray(n);
      return this.#skip === 0;
    }
    const lf = this.#buf.indexOf(0x0a);
    if (lf < 0) {
      this.#buf = Buffer.alloc(0);
      return false;
    }
    this.#buf = this.#buf.subarray(lf + 1);
    this.#skip = 0;
    return true;
  }

  #counted(out: FrameEvent[]): boolean {
    const sp = this.#buf.indexOf(0x20);
    const prefixEnd = sp < 0 ? Math.min(this.#buf.length, 11) : sp;
    const digits = this.#buf.subarray(0, prefixEnd).toString('latin1');
    if (!/^[1-9]\d{0,9}$/.test(digits) || (sp < 0 && this.#buf.length > 10)) {
      this.fatal = 'the octet count is not a decimal length followed by a space';
      return false;
    }
    if (sp < 0) return false;
    const len = Number(digits);
    if (len > this.#maxBytes) {
      out.push({ kind: 'oversize', bytes: len });
      this.#buf = this.#buf.subarray(sp + 1);
      this.#skip = len;
      return true;
    }
    if (this.#buf.length < sp + 1 + len) return false;
    out.push({ kind: 'frame', data: this.#buf.subarray(sp + 1, sp + 1 + len) });
    this.#buf = this.#buf.subarray(sp + 1 + len);
    return true;
  }

  #lined(out: FrameEvent[], first: number): boolean {
    const lf = this.#buf.indexOf(0x0a);
    if (lf < 0) {
      if (this.#buf.length > this.#maxBytes) {
        out.push({ kind: 'oversize', bytes: this.#buf.length });
        this.#buf = Buffer.alloc(0);
        this.#skip = -1;
      }
      return false;
    }
    const line = this.#buf.subarray(0, lf > 0 && this.#buf[lf - 1] === 0x0d ? lf - 1 : lf);
    this.#buf = this.#buf.subarray(lf + 1);
    if (line.length === 0) return true;
    if (line.length > this.#maxBytes) out.push({ kind: 'oversize', bytes: line.length });
    else out.push(first === 0x3c ? { kind: 'frame', data: line } : { kind: 'garbage' });
    return true;
  }
}
