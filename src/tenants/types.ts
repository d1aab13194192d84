export type TenantState = 'active' | 'suspended' | 'closed' | 'purged';

export interface Tenant {
  id: string;
  slug: string;
  name: string;
  state: TenantState;
  createdAt: string;
  updatedAt: string;
  stateChangedAt: string;
}

/** State changes an operator may make through the API; `purged` is the scheduler's alone. */
export const ALLOWED_TRANSITIONS: Record<TenantState, readonly TenantState[]> = {
  active: ['suspended', 'closed'],
  suspended: ['active', 'closed'],
  closed: ['active'],
  purged: [],
};
