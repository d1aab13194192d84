import { createError } from '../shared/errors.js';

export const tenantErrors = {
  notFound: () => createError('TENANT_NOT_FOUND', 'tenant not found', 404),
  slugTaken: (slug: string) => createError('TENANT_SLUG_TAKEN', `a tenant with slug "${slug}" already exists`, 409),
  badTransition: (from: string, to: string) =>
    createError('TENANT_STATE_TRANSITION_INVALID', `a tenant cannot go from ${from} to ${to}`, 409),
  notActive: (state: string) => createError('TENANT_NOT_ACTIVE', `the tenant is ${state}; its data is unavailable`, 403),
  badCursor: () => createError('PAGINATION_CURSOR_INVALID', 'the cursor is not one this API issued', 400),
};
