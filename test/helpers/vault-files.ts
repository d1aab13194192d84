// A tenant with a `customers` collection (personal email, name, phone,
// address object and a file field) and an application API key that may read
// them for app_functionality: the setting of the upload and canary tests.
import type { LightMyRequestResponse } from 'fastify';
import type { TestApp } from './app.js';
import type { CorpusItem } from './upload-corpus.js';

export const COLLECTION = 'customers';
export const REASON = 'app_functionality';

export interface VaultFixture {
  tenantId: string;
  apiKey: string;
  createRecord(fields: Record<string, unknown>): Promise<string>;
  readRecord(recordId: string): Promise<{ fields: Record<string, unknown> }>;
  upload(recordId: string, field: string, item: Pick<CorpusItem, 'declaredType' | 'fileName' | 'body'>): Promise<LightMyRequestResponse>;
  download(recordId: string, field: string): Promise<LightMyRequestResponse>;
}

function ok(res: LightMyRequestResponse, what: string): LightMyRequestResponse {
  if (res.statusCode >= 300) throw new Error(`${what}: ${res.statusCode} ${res.body}`);
  return res;
}

export async function vaultFixture(t: TestApp, slug: string): Promise<VaultFixture> {
  const tenantId = ok(await t.request({ method: 'POST', url: '/api/v1/tenants', body: { slug, name: 'Vault Files' } }), 'tenant').json().id as string;
  const key = ok(
    await t.request({
      method: 'POST',
      url: `/api/v1/tenants/${tenantId}/api-keys`,
      body: { name: 'app', permissions: ['collections:manage', 'collections:read', 'records:read', 'records:write'], purposes: [REASON] },
    }),
    'api key',
  ).json().token as string;
  const personal = { personal: true, purposes: [REASON] };
  ok(
    await t.request({
      method: 'POST',
      url: `/api/v1/tenants/${tenantId}/collections`,
      token: key,
      body: {
        name: COLLECTION,
        subjectField: 'email',
        retentionDays: 365,
        fields: {
          email: { type: 'email', ...personal, category: 'user.contact.email', required: true, unique: true },
          name: { type: 'string', ...personal, category: 'user.name' },
          phone: { type: 'phone', ...personal, category: 'user.contact.phone_number', region: 'DE', searchable: true },
          address: { type: 'object', ...personal, category: 'user.contact.address' },
          document: { type: 'file', ...personal, category: 'user.government_id', maxBytes: 1024 * 1024 },
          plan: { type: 'string', personal: false },
        },
      },
    }),
    'collection',
  );
  const base = `/api/v1/tenants/${tenantId}/collections/${COLLECTION}/records`;
  return {
    tenantId,
    apiKey: key,
    async createRecord(fields) {
      return ok(await t.request({ method: 'POST', url: base, token: key, body: { fields } }), 'record').json().id as string;
    },
    async readRecord(recordId) {
      return ok(await t.request({ method: 'GET', url: `${base}/${recordId}?reason=${REASON}`, token: key }), 'read').json();
    },
    upload(recordId, field, item) {
      return t.custos.app.inject({
        method: 'PUT',
        url: `${base}/${recordId}/files/${field}`,
        headers: { authorization: `Bearer ${key}`, 'content-type': item.declaredType, 'x-file-name': item.fileName },
        payload: item.body,
      });
    },
    download(recordId, field) {
      return t.request({ method: 'GET', url: `${base}/${recordId}/files/${field}?reason=${REASON}`, token: key });
    },
  };
}
