/**
 * Reads one line from the terminal without echoing it (a passphrase). The
 * prompt goes to stderr; Ctrl-C aborts the process with code 130. Only for
 * a TTY stdin: callers check `process.stdin.isTTY` first.
 */
export function readPassphrase(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  return new Promise((resolve) => {
    const chars: string[] = [];
    const wasRaw = stdin.isRaw;
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const done = (value: string | null): void => {
      stdin.setRawMode(wasRaw);
      stdin.pause();
      stdin.removeListener('data', onData);
      process.stderr.write('\n');
      if (value === null) process.exit(130);
      resolve(value);
    };
    const onData = (data: string): void => {
      for (const ch of data) {
        if (ch === '\r' || ch === '\n') return done(chars.join(''));
        if (ch === '\u0003') return done(null);
        if (ch === '\u007f' || ch === '\b') chars.pop();
        else if (ch >= ' ') chars.push(ch);
      }
    };
    stdin.on('data', onData);
  });
}
