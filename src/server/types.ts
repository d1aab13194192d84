import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { RequestContext } from '../shared/context.js';

/** The Fastify instance type every module registers its routes on. */
export type App = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling; set by the auth hook for every request. */
    ctx: RequestContext;
  }
  interface FastifyInstance {
    /** Every route registered, with its declared config: the permission matrix and docs read it. */
    routeTable: Array<{ method: string; url: string; config: FastifyContextConfig }>;
  }
  interface FastifyContextConfig {
    /** `public` routes need no credentials; everything else is authorised in its service. */
    auth?: 'public' | 'required';
    /** The permission the route's service asserts (documentation and the permission matrix test). */
    permission?: string;
    /** Routes that also serve tenant callers in their own tenant under another permission (e.g. `members:read`). */
    tenantPermission?: string;
    /** Tenant-scoped routes name their object-id parameter, for the cross-tenant tests. */
    tenantObjectParam?: string;
  }
}
