/**
 * A named parameter of a reusable query (reusable-query.ts): it stands in for
 * a value while the query is built and compiled once, and is replaced by the
 * caller's value at each execution. The tenant guard marks the ones it
 * accepted as a tenant pin, so a null there is refused at execution as it
 * would have been at compile time.
 */
export class QueryParam {
  /** Set by the tenant guard when this parameter is the value of a `tenant_id = …` pin. */
  tenantPin = false;

  constructor(readonly name: string) {}
}
