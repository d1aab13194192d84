import { DeleteResult, InsertResult, UpdateResult, type CompiledQuery, type KyselyPlugin, type QueryResult, type RootOperationNode } from 'kysely';
import { createError } from '../shared/errors.js';
import { QueryParam } from './query-param.js';
import type { Tx } from './types.js';
import { noteWrite, touchedBy, UnitWrites, type TouchedTable } from './write-tracker.js';

/** What `build` may return: any Kysely query builder (select, insert, update, delete). */
export interface ReusableBuilder<R> {
  compile(): CompiledQuery<unknown>;
  execute(): Promise<R[]>;
}

/** A query compiled once per dialect and executed with new parameters each call. */
export interface ReusableQuery<P, R> {
  /** Same result as the builder's `execute()`: rows, or one Insert/Update/DeleteResult. */
  execute(tx: Tx, params: P): Promise<R[]>;
  /** Same as the builder's `executeTakeFirst()`. */
  executeTakeFirst(tx: Tx, params: P): Promise<R | undefined>;
}

type Shape = 'rows' | 'insert' | 'update' | 'delete';

interface Plan {
  adapter: unknown;
  plugins: readonly KyselyPlugin[];
  sql: string;
  query: RootOperationNode;
  slots: QueryParam[];
  touched: TouchedTable | undefined;
  shape: Shape;
}

/** Different databases opened in one process (tests) each get a plan; a few are kept. */
const MAX_PLANS = 8;

let reuses = 0;

function shapeOf(query: RootOperationNode, supportsReturning: boolean): Shape {
  const returning = (query as { returning?: unknown }).returning !== undefined && supportsReturning;
  if (returning) return 'rows';
  if (query.kind === 'InsertQueryNode') return 'insert';
  if (query.kind === 'UpdateQueryNode') return 'update';
  if (query.kind === 'DeleteQueryNode') return 'delete';
  return 'rows';
}

/** A write unit's tracker (UnitWrites) is new in every unit and only listens: it never shapes the text, so plans ignore it. */
const shaping = (p: KyselyPlugin) => !(p instanceof UnitWrites);

/** `current` minus unit trackers is exactly `kept` (no array made per call). */
function samePlugins(kept: readonly KyselyPlugin[], current: readonly KyselyPlugin[]): boolean {
  let j = 0;
  for (const p of current) {
    if (!shaping(p)) continue;
    if (kept[j++] !== p) return false;
  }
  return j === kept.length;
}

function paramsProxy(): Record<string, QueryParam> {
  const made = new Map<string, QueryParam>();
  return new Proxy({} as Record<string, QueryParam>, {
    get(_target, name) {
      if (typeof name !== 'string') return undefined;
      let p = made.get(name);
      if (!p) made.set(name, (p = new QueryParam(name)));
      return p;
    },
  });
}

function bindValue(slot: QueryParam, params: Record<string, unknown>): unknown {
  const v = params[slot.name];
  if (v === undefined) throw new Error(`reusableQuery: parameter ${slot.name} is missing (pass null for SQL NULL)`);
  if (Array.isArray(v)) throw new Error(`reusableQuery: parameter ${slot.name} is an array; its SQL would differ from the compiled text`);
  if (v === null && slot.tenantPin) {
    throw createError('DB_TENANT_SCOPE_MISSING', `reusable query pins the tenant with ${slot.name}, which is null`, 500);
  }
  return v;
}

/**
 * A query whose SQL is built and compiled through Kysely once per dialect
 * (and set of plugins), then executed with each call's parameters: building a
 * query and walking it through the plugins costs more than SQLite takes to
 * run it, on paths that run once per request.
 *
 * `build` is called once per dialect, with named placeholders (`p.id`)
 * instead of values, so the compiled text cannot depend on any value. It
 * must be a function of its two arguments alone: every value in the query
 * must come from `p` (a value that is not a parameter, such as a captured
 * tenant id or Kysely's own `limit(1)`, is refused rather than frozen into the
 * text; write numbers as `sql.lit(1)` when they are truly constant).
 * The compile goes through the tx's plugins, so the tenant guard checks the
 * statement (and marks parameters pinning the tenant, which may then never be
 * null) and the write tracker hears of it; later executions report the
 * table they write to the unit's tracker themselves. Arrays cannot be
 * parameters (an IN list's text depends on its length).
 */
export function reusableQuery<P extends Record<string, unknown>, R>(build: (db: Tx, p: P) => ReusableBuilder<R>): ReusableQuery<P, R> {
  const plans: Plan[] = [];

  function planFor(tx: Tx): { plan: Plan; fresh: boolean } {
    const executor = tx.getExecutor();
    const adapter = executor.adapter.constructor;
    const plugins = executor.plugins;
    for (const plan of plans) if (plan.adapter === adapter && samePlugins(plan.plugins, plugins)) return { plan, fresh: false };
    const compiled = build(tx, paramsProxy() as unknown as P).compile();
    const slots = compiled.parameters.map((v) => {
      if (!(v instanceof QueryParam)) throw new Error('reusableQuery: the query holds a value that is not one of its parameters; pass it as p.<name>');
      return v;
    });
    const plan: Plan = {
      adapter,
      plugins: plugins.filter(shaping),
      sql: compiled.sql,
      query: compiled.query,
      slots,
      touched: touchedBy(compiled.query),
      shape: shapeOf(compiled.query, executor.adapter.supportsReturning),
    };
    if (plans.length >= MAX_PLANS) plans.shift();
    plans.push(plan);
    return { plan, fresh: true };
  }

  async function execute(tx: Tx, params: P): Promise<R[]> {
    const { plan, fresh } = planFor(tx);
    const values = new Array<unknown>(plan.slots.length);
    for (let i = 0; i < values.length; i++) values[i] = bindValue(plan.slots[i]!, params);
    // The first compile passed the write tracker plugin already.
    if (plan.touched && !fresh) noteWrite(tx, plan.touched);
    const compiled: CompiledQuery = { sql: plan.sql, query: plan.query, parameters: values, queryId: { queryId: `reusable-${++reuses}` } };
    const result: QueryResult<unknown> = await tx.getExecutor().executeQuery(compiled);
    switch (plan.shape) {
      case 'rows':
        return result.rows as R[];
      case 'insert':
        return [new InsertResult(result.insertId, result.numAffectedRows ?? BigInt(0)) as R];
      case 'update':
        return [new UpdateResult(result.numAffectedRows ?? BigInt(0), result.numChangedRows) as R];
      case 'delete':
        return [new DeleteResult(result.numAffectedRows ?? BigInt(0)) as R];
    }
  }

  return {
    execute,
    async executeTakeFirst(tx, params) {
      return (await execute(tx, params))[0];
    },
  };
}
