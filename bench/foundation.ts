import { header, load, row, startServer, stopServer } from './lib.js';

/** Issue 2: authenticated read and durable create through the API, beside a bare Fastify HTTPS route. */
export async function benchFoundation(seconds: number): Promise<void> {
  header('foundation — HTTPS, 50 connections, loopback (requests/s)');
  const bare = await startServer('bare');
  const bareGet = await load({ url: `${bare.info.url}/bare`, seconds });
  const barePost = await load({ url: `${bare.info.url}/bare`, method: 'POST', headers: { 'content-type': 'application/json' }, body: () => '{"a":1}', seconds });
  await stopServer(bare.child);

  let n = 0;
  const createBody = () => JSON.stringify({ slug: `b-${process.pid}-${n++}`, name: 'Bench tenant' });
  for (const mode of ['custos', 'custos-1tx'] as const) {
    const s = await startServer(mode);
    const auth = { authorization: `Bearer ${s.info.token}` };
    if (mode === 'custos') {
      const read = await load({ url: `${s.info.url}/api/v1/tenants/${s.info.tenantId}`, headers: auth, seconds });
      console.log(row('bare GET (baseline)', bareGet.rps.toFixed(0)));
      console.log(row(`authenticated tenant read (p99 ${read.p99} ms, non-2xx ${read.non2xx})`, read.rps.toFixed(0), bareGet.rps.toFixed(0), read.rps / bareGet.rps));
    }
    const create = await load({
      url: `${s.info.url}/api/v1/tenants`,
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: createBody,
      seconds,
    });
    const label = mode === 'custos' ? 'tenant create + outbox, group commit' : 'tenant create + outbox, one transaction per request';
    console.log(row(`${label} (p99 ${create.p99} ms, non-2xx ${create.non2xx})`, create.rps.toFixed(0), barePost.rps.toFixed(0), create.rps / barePost.rps));
    await stopServer(s.child);
  }
}
