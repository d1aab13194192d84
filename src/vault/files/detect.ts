// Recognisers for executables and scripts. They name what they found (a
// kind), never the content. Text heuristics score lines: one strong sign, or
// two weak ones, make a script; prose and CSV data rarely show either.

/** Binary executable and bytecode magics (offset 0). */
const MAGICS: ReadonlyArray<{ bytes: number[]; kind: string }> = [
  { bytes: [0x7f, 0x45, 0x4c, 0x46], kind: 'ELF executable' },
  { bytes: [0xfe, 0xed, 0xfa, 0xce], kind: 'Mach-O executable (32-bit)' },
  { bytes: [0xce, 0xfa, 0xed, 0xfe], kind: 'Mach-O executable (32-bit, little-endian)' },
  { bytes: [0xfe, 0xed, 0xfa, 0xcf], kind: 'Mach-O executable (64-bit)' },
  { bytes: [0xcf, 0xfa, 0xed, 0xfe], kind: 'Mach-O executable (64-bit, little-endian)' },
  // 0xCAFEBABE is also a Java class file: refused either way.
  { bytes: [0xca, 0xfe, 0xba, 0xbe], kind: 'Mach-O universal binary or Java class' },
  { bytes: [0xca, 0xfe, 0xba, 0xbf], kind: 'Mach-O universal binary (64-bit)' },
  { bytes: [0xbe, 0xba, 0xfe, 0xca], kind: 'Mach-O universal binary (little-endian)' },
  { bytes: [0xbf, 0xba, 0xfe, 0xca], kind: 'Mach-O universal binary (64-bit, little-endian)' },
  { bytes: [0x00, 0x61, 0x73, 0x6d], kind: 'WebAssembly module' },
  { bytes: [0x64, 0x65, 0x78, 0x0a], kind: 'Dalvik executable' },
  { bytes: [0x4c, 0x00, 0x00, 0x00, 0x01, 0x14, 0x02, 0x00], kind: 'Windows shortcut' },
];

/** Extensions of executables, scripts and macro containers (lower case, with the dot). */
export const EXECUTABLE_EXTENSIONS: ReadonlySet<string> = new Set(
  ('.exe .dll .com .scr .cpl .msi .msp .msc .sys .drv .ocx .pif .lnk .hta .jar .class .apk .app .dmg .pkg .deb .rpm ' +
    '.elf .so .dylib .bin .run .out .wasm .bat .cmd .ps1 .psm1 .psd1 .ps1xml .vbs .vbe .js .jse .mjs .cjs .wsf .wsh .sct ' +
    '.reg .sh .bash .zsh .ksh .csh .fish .command .py .pyc .pyw .pl .rb .php .phtml .lua .tcl .applescript .scpt ' +
    '.html .htm .xhtml .svg .xht .mht .mhtml .docm .xlsm .pptm .dotm .xltm .xlam .ppam .vba .iqy .slk .url .inf')
    .split(' '),
);

/** The lower-case extension of a file name ('' when none). */
export function extensionOf(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? '' : base.slice(dot).toLowerCase();
}

function startsWith(head: Uint8Array, bytes: readonly number[]): boolean {
  return head.length >= bytes.length && bytes.every((b, i) => head[i] === b);
}

/** A PE file: "MZ" and, when the head holds it, a "PE\0\0" signature at e_lfanew (DOS stubs count too). */
function isPe(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x4d && head[1] === 0x5a;
}

/** The kind of binary executable `head` starts with, or null. */
export function executableMagic(head: Uint8Array): string | null {
  if (isPe(head)) return 'PE executable (MZ)';
  for (const m of MAGICS) if (startsWith(head, m.bytes)) return m.kind;
  return null;
}

interface Sign {
  re: RegExp;
  strong: boolean;
}

const s = (re: RegExp): Sign => ({ re, strong: true });
const w = (re: RegExp): Sign => ({ re, strong: false });

const SCRIPT_SIGNS: ReadonlyArray<{ kind: string; signs: Sign[] }> = [
  {
    kind: 'shell script',
    signs: [
      s(/\|\s*(sudo\s+)?(ba|z|k|da|c)?sh\b/),
      s(/\b(ba|z|k|da)?sh\s+-c\s/),
      s(/\brm\s+-[a-z]*[rf][a-z]*\s/),
      s(/\bchmod\s+([0-7]{3,4}|[ugoa]*\+[rwxs]+)\s/),
      s(/^\s*[A-Za-z_][\w-]*\s*\(\)\s*\{/m),
      s(/^\s*export\s+[A-Za-z_]\w*=/m),
      s(/^\s*(if|elif|while|until)\s+\[\[?\s/m),
      s(/;\s*(then|do)\s*$/m),
      s(/^\s*case\s+\S+\s+in\s*$/m),
      s(/\d?>\s*\/dev\/null|\s2>&1\b/),
      s(/\b(nohup|crontab|mkfifo|base64\s+-d|setsid)\b/),
      w(/^\s*(fi|done|esac|then|do)\s*;?\s*$/m),
      w(/^\s*for\s+\w+\s+in\s/m),
      w(/\$\([^)\n]+\)/),
      w(/`[^`\n]+`/),
      w(/^\s*(echo|printf|cd|sudo|exec|eval|source|alias|unset|set\s+-[euxo]|trap|wget|curl|apt-get|yum|mkdir|cp|mv|kill|ln\s+-s)\s/m),
      w(/\$\{[A-Za-z_]\w*\}/),
      w(/^\s*[A-Za-z_]\w*=("[^"\n]*"|'[^'\n]*'|\$|\S+$)/m),
    ],
  },
  {
    kind: 'Windows batch script',
    signs: [
      s(/^\s*@?echo\s+off\b/im),
      s(/%~[a-z]*\d/i),
      s(/^\s*(goto|call)\s+:?\w+/im),
      s(/^\s*setlocal\b/im),
      w(/^\s*(set|rem|if\s+exist|if\s+not|pause|cls|del|copy|start)\b/im),
      w(/%[A-Za-z_]\w*%/),
      w(/^\s*:[A-Za-z_]\w*\s*$/m),
    ],
  },
  {
    kind: 'PowerShell script',
    signs: [
      s(/\b(Invoke-Expression|Invoke-WebRequest|Invoke-RestMethod|Start-Process|Set-ExecutionPolicy|New-Object\s+(System\.)?Net\.WebClient|Add-Type|Get-WmiObject|DownloadString|DownloadFile|FromBase64String)\b/i),
      s(/\biex\s*[(\s$]/i),
      s(/-(EncodedCommand|ExecutionPolicy)\b/i),
      s(/\[(System\.)?(Convert|Reflection\.Assembly|Text\.Encoding)\]::/i),
      w(/\$env:\w+/i),
      w(/\b(Write-Host|Write-Output|Get-ChildItem|Get-Content|Set-Content|Remove-Item|ForEach-Object|Where-Object)\b/i),
      w(/^\s*param\s*\(/im),
    ],
  },
  {
    kind: 'JavaScript',
    signs: [
      s(/\beval\s*\(/),
      s(/\bnew\s+(ActiveXObject|Function)\s*\(/),
      s(/\bWScript\.\w+/),
      s(/\brequire\s*\(\s*['"][\w:./@-]+['"]\s*\)/),
      s(/\bimport\s+[\w{}*\s,]+\s+from\s+['"]/),
      s(/\bmodule\.exports\b|\bprocess\.(env|argv|exit)\b|\bchild_process\b/),
      s(/\b(document|window)\.(write|cookie|location|createElement|body|getElementById)\b/),
      s(/\bfunction\s*[\w$]*\s*\([^)\n]*\)\s*\{/),
      w(/\b(const|let|var)\s+[\w$]+\s*=/),
      w(/=>\s*[{(]/),
      w(/\bconsole\.\w+\s*\(/),
      w(/\b(setTimeout|setInterval|fetch|XMLHttpRequest|atob|unescape|String\.fromCharCode)\s*\(/),
    ],
  },
  {
    kind: 'script (PHP, Python, Perl, Ruby or VBScript)',
    signs: [
      s(/<\?php\b|<\?=/i),
      s(/^\s*import\s+(os|sys|subprocess|socket|ctypes)\b/m),
      s(/\b(subprocess\.(run|call|Popen|check_output)|os\.system|__import__)\s*\(/),
      s(/^\s*use\s+(strict|warnings|IO::Socket)\s*;/m),
      s(/\bCreateObject\s*\(\s*"(WScript|Scripting|Shell|MSXML2)/i),
      s(/\b(system|exec|passthru|shell_exec|popen|proc_open)\s*\(\s*['"$]/),
      w(/^\s*def\s+\w+\s*\(.*\)\s*:\s*$/m),
      w(/^\s*(Dim|Set|Sub|End Sub|On Error)\b/m),
    ],
  },
];

/** Active content in markup (HTML, SVG, XML, XHTML). */
const MARKUP_ACTIVE: ReadonlyArray<{ re: RegExp; what: string }> = [
  { re: /<script\b/i, what: 'script element' },
  { re: /<[a-z][^>]*\son[a-z]+\s*=/i, what: 'event handler attribute' },
  { re: /\b(href|src|action|formaction|xlink:href)\s*=\s*["']?\s*(javascript|vbscript|data\s*:\s*text\/html)\s*:?/i, what: 'script URL' },
  { re: /<(iframe|object|embed|applet|frameset|form|base)\b/i, what: 'embedded or active element' },
  { re: /<meta[^>]+http-equiv\s*=\s*["']?refresh/i, what: 'meta refresh' },
  { re: /<!ENTITY/i, what: 'XML entity declaration' },
];

const MARKUP_START = /^\s*(<\?xml\b|<!doctype\s+(html|svg)|<html\b|<svg\b|<head\b|<body\b|<!--)/i;

/** True when `text` reads as an HTML, SVG or XML document. */
export function isMarkup(text: string): boolean {
  return MARKUP_START.test(text) || /<(html|body|svg|script)\b/i.test(text);
}

/** The active content in a markup document, or null. */
export function markupActiveContent(text: string): string | null {
  for (const m of MARKUP_ACTIVE) if (m.re.test(text)) return m.what;
  return null;
}

/** DDE / formula injection in delimited text: a cell starting with a formula that runs or fetches something. */
const CSV_FORMULA = /(^|[,;\t"])\s*[=+\-@]\s*(cmd|powershell|mshta|rundll32|regsvr32|msexec|certutil)\s*\||(^|[,;\t"])\s*[=+\-@]\s*(DDE|DDEAUTO|WEBSERVICE|IMPORTXML|IMPORTDATA|HYPERLINK|CALL|REGISTER|EXEC)\s*\(/im;

/**
 * What kind of script `text` looks like, or null: shebang, HTML/SVG with
 * active content, CSV formula injection, or a shell, batch, PowerShell,
 * JavaScript or other script by the signs above (one strong sign or two weak).
 */
export function scriptKind(text: string): string | null {
  const t = text.replace(/^\uFEFF/, '');
  if (t.startsWith('#!')) return 'script with a shebang line';
  if (isMarkup(t)) {
    const active = markupActiveContent(t);
    if (active !== null) return `markup with active content (${active})`;
  } else if (/<script\b/i.test(t)) return 'markup with active content (script element)';
  if (CSV_FORMULA.test(t)) return 'spreadsheet formula that runs a command (DDE)';
  for (const family of SCRIPT_SIGNS) {
    let score = 0;
    for (const sign of family.signs) {
      if (sign.re.test(t)) score += sign.strong ? 2 : 1;
      if (score >= 2) return family.kind;
    }
  }
  return null;
}

// PDF actions that run code or carry files: JavaScript, launch actions,
// embedded files and rich media. A name spelled with #xx escapes is an
// obfuscation readers undo, so it counts too. (Streams compressed inside
// object streams are not opened: a heuristic, like the script signs.)
const PDF_ACTIVE = /\/(JavaScript|JS|Launch|EmbeddedFiles?|RichMedia)(?![A-Za-z0-9])/;
const PDF_ACTIVE_NAME = /^\/(JavaScript|JS|Launch|EmbeddedFiles?|RichMedia)$/;
const PDF_ESCAPED_NAME = /\/[A-Za-z0-9]*#[0-9A-Fa-f]{2}[A-Za-z0-9#]*/g;

/** What active content a piece of a PDF shows, or null. */
export function pdfActiveContent(text: string): string | null {
  const m = PDF_ACTIVE.exec(text);
  if (m !== null) return `PDF with /${m[1]} action or object`;
  // Font names such as /Times#20New#20Roman are common; only an escaped active name counts.
  for (const n of text.matchAll(PDF_ESCAPED_NAME)) {
    const decoded = n[0].replace(/#([0-9A-Fa-f]{2})/g, (_x, h: string) => String.fromCharCode(parseInt(h, 16)));
    if (PDF_ACTIVE_NAME.test(decoded)) return 'PDF with an obfuscated (#-escaped) action name';
  }
  return null;
}
