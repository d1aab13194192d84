import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export interface TestPki {
  ca: string;
  caKey: string;
  /** Server certificate for 127.0.0.1 and localhost, and its key. */
  serverCert: string;
  serverKey: string;
  /** A client certificate from the same CA, and its key. */
  clientCert: string;
  clientKey: string;
  /** A CA nobody signed anything with (for "wrong CA" tests). */
  otherCa: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'ignore' });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** Makes a throw-away CA with server and client certificates in `dir` (paths returned). */
export function makeTestPki(dir: string): TestPki {
  openssl(['req', '-x509', ...EC, '-days', '2', '-subj', '/CN=Custos Test CA', '-keyout', 'ca.key', '-out', 'ca.pem'], dir);
  openssl(['req', '-x509', ...EC, '-days', '2', '-subj', '/CN=Other CA', '-keyout', 'other-ca.key', '-out', 'other-ca.pem'], dir);
  writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  writeFileSync(path.join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const name of ['server', 'client']) {
    openssl(['req', ...EC, '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`], dir);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`], dir);
  }
  const p = (f: string) => path.join(dir, f);
  return {
    ca: p('ca.pem'),
    caKey: p('ca.key'),
    serverCert: p('server.pem'),
    serverKey: p('server.key'),
    clientCert: p('client.pem'),
    clientKey: p('client.key'),
    otherCa: p('other-ca.pem'),
  };
}
