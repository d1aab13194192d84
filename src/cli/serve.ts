import { createServer as createHttpServer, type Server } from 'node:http';
import type { Config } from '../config/index.js';
import { createCustos } from '../main.js';
import { loadTlsMaterial, tlsOptions } from '../server/tls.js';
import { prepare } from './prepare.js';

function startRedirect(config: Config, httpsPort: number): Server {
  const server = createHttpServer((req, res) => {
    const host = (req.headers.host ?? config.host).replace(/:\d+$/, '');
    const path = (req.url ?? '/').startsWith('/') ? req.url : '/';
    res.writeHead(308, { location: `https://${host}:${httpsPort}${path}`, 'content-length': '0' });
    res.end();
  });
  server.listen(config.httpRedirectPort, config.host);
  return server;
}

/**
 * `custos serve`: prepares the data directory if needed, then serves HTTPS.
 * SIGHUP reloads the certificate and key; SIGTERM/SIGINT drain and stop.
 */
export async function serve(config: Config): Promise<void> {
  const core = await prepare(config, (line) => process.stdout.write(`${line}\n`));
  await core.rawDb.close();
  const material = loadTlsMaterial(config);
  // The root key prepare unsealed (asked for once), handed on.
  const custos = await createCustos(config, { https: tlsOptions(material), rootKey: await core.keys.root() });
  const { app } = custos;
  await app.listen({ host: config.host, port: config.httpsPort });
  const port = (app.server.address() as { port: number }).port;
  const redirect = config.httpRedirectPort ? startRedirect(config, port) : undefined;
  app.log.info({ url: `https://${config.host}:${port}`, database: custos.db.location }, 'custos serving');
  process.stdout.write(`listening on https://${config.host}:${port}\n`);

  process.on('SIGHUP', () => {
    try {
      const next = loadTlsMaterial(config);
      (app.server as unknown as { setSecureContext(o: object): void }).setSecureContext(tlsOptions(next));
      app.log.info('TLS certificate reloaded');
    } catch (e) {
      app.log.error({ code: (e as { code?: string }).code }, 'TLS reload failed; keeping the current certificate');
    }
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'stopping: draining requests');
    redirect?.close();
    custos.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
