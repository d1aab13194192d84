/** Small strict text helpers shared by the note and checkpoint parsers. */

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_EXCEPT_NEWLINE = /[\u0000-\u0009\u000B-\u001F]/;

/** Standard base64 (RFC 4648 §4) in its one canonical spelling, or undefined. */
export function decodeBase64Strict(text: string): Buffer | undefined {
  if (!BASE64.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

/** True iff `text` has no unpaired UTF-16 surrogate (so it is valid Unicode and encodes to UTF-8 losslessly). */
export function isWellFormedUnicode(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

/** True iff `text` contains an ASCII control character other than newline. */
export function hasControlExceptNewline(text: string): boolean {
  return CONTROL_EXCEPT_NEWLINE.test(text);
}
