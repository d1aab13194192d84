import { expect } from 'vitest';
import type { TestApp } from './app.js';
import { uniqueSlug } from './app.js';

/** A customers collection: email subject (unique), phone (DE), birth date, a support note, a non-personal plan. */
export const CUSTOMERS = {
  name: 'customers',
  subjectField: 'email',
  retentionDays: 365,
  fields: {
    email: { type: 'email', personal: true, category: 'user.contact.email', required: true, unique: true, purposes: ['app_functionality', 'support', 'data_subject_request'] },
    phone: { type: 'phone', personal: true, category: 'user.contact.phone_number', searchable: true, region: 'DE', purposes: ['app_functionality', 'data_subject_request'] },
    birthDate: { type: 'date', personal: true, category: 'user.demographic.date_of_birth', purposes: ['data_subject_request'] },
    note: { type: 'string', personal: true, category: 'user.content.private', purposes: ['support'] },
    plan: { type: 'string', searchable: true, category: 'system.operations' },
    seats: { type: 'number' },
  },
};

/** Orders: the subject field (an email) is not unique, so one person has many records. */
export const ORDERS = {
  name: 'orders',
  subjectField: 'customerEmail',
  retentionDays: 3650,
  fields: {
    customerEmail: { type: 'email', personal: true, category: 'user.contact.email', required: true, searchable: true, purposes: ['app_functionality', 'data_subject_request'] },
    address: { type: 'object', personal: true, category: 'user.contact.address', purposes: ['app_functionality'] },
    total: { type: 'number', required: true },
  },
};

export const ALL_PURPOSES = ['app_functionality', 'support', 'security', 'data_subject_request'];

export async function newTenant(t: TestApp, prefix = 'vault'): Promise<string> {
  const r = await t.request({ method: 'POST', url: '/api/v1/tenants', body: { slug: uniqueSlug(prefix), name: 'Vault' } });
  expect(r.statusCode, r.body).toBe(201);
  return r.json().id as string;
}

/** An API key of the tenant with the given purposes (records and collections permissions). */
export async function apiKey(t: TestApp, tenantId: string, purposes: string[], permissions = ['records:read', 'records:write', 'collections:read']): Promise<string> {
  const r = await t.request({ method: 'POST', url: `/api/v1/tenants/${tenantId}/api-keys`, body: { name: `k-${purposes.join('-') || 'none'}`, permissions, purposes } });
  expect(r.statusCode, r.body).toBe(201);
  return r.json().token as string;
}

export async function createCollection(t: TestApp, tenantId: string, body: unknown = CUSTOMERS): Promise<Record<string, unknown>> {
  const r = await t.request({ method: 'POST', url: `/api/v1/tenants/${tenantId}/collections`, body });
  expect(r.statusCode, r.body).toBe(201);
  return r.json();
}

/** Record API calls as one API key. */
export function recordsApi(t: TestApp, tenantId: string, token: string, collection = 'customers') {
  const base = `/api/v1/tenants/${tenantId}/collections/${collection}/records`;
  return {
    base,
    create: (fields: Record<string, unknown>, headers?: Record<string, string>) => t.request({ method: 'POST', url: base, token, body: { fields }, headers }),
    get: (id: string, query = '') => t.request({ method: 'GET', url: `${base}/${id}${query}`, token }),
    list: (query = '') => t.request({ method: 'GET', url: `${base}${query}`, token }),
    update: (id: string, fields: Record<string, unknown>) => t.request({ method: 'PATCH', url: `${base}/${id}`, token, body: { fields } }),
    remove: (id: string) => t.request({ method: 'DELETE', url: `${base}/${id}`, token }),
    search: (body: Record<string, unknown>) => t.request({ method: 'POST', url: `${base}/search`, token, body }),
    duplicates: (id: string) => t.request({ method: 'GET', url: `${base}/${id}/duplicates`, token }),
  };
}
