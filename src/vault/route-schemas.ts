import { Type } from 'typebox';
import { PURPOSES } from '../access/index.js';
import { Uuid } from '../server/schemas.js';

/** A string enum typed as the union of its members (Type.Union over a mapped array loses the literal types). */
export const lit = <T extends string>(xs: readonly T[], description?: string) => Type.Unsafe<T>({ type: 'string', enum: [...xs], ...(description ? { description } : {}) });
/** The purpose of a read (a `reason`); without one no personal field is returned. */
export const Purpose = lit(PURPOSES, 'purpose of the read (need to know)');
export const CollectionName = Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$', description: 'lower-case letters, digits, "_"' });

export const TenantParams = Type.Object({ tenantId: Uuid }, { additionalProperties: false });
export const CollectionParams = Type.Object({ tenantId: Uuid, name: CollectionName }, { additionalProperties: false });
