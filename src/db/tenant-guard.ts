import type {
  KyselyPlugin,
  OperationNode,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely';
import { createError } from '../shared/errors.js';
import { QueryParam } from './query-param.js';

/**
 * Refuses, before it reaches the database, any query on a tenant table that
 * does not pin the tenant: SELECT/UPDATE/DELETE need `tenant_id = <value>` in
 * a top-level AND of their WHERE (or the join's ON), per table reference;
 * INSERT needs a `tenant_id` column. It walks every sub-query too. Raw SQL is
 * opaque to it: stores never use raw SQL on tenant tables.
 */
export class TenantGuardPlugin implements KyselyPlugin {
  readonly #tables: ReadonlySet<string>;

  constructor(tables: ReadonlySet<string>) {
    this.#tables = tables;
  }

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    visit(args.node, this.#tables);
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

type AnyNode = OperationNode & Record<string, unknown>;

function isNode(v: unknown): v is AnyNode {
  return typeof v === 'object' && v !== null && typeof (v as { kind?: unknown }).kind === 'string';
}

/**
 * Node kinds that hold only names, operators, column references or bound
 * values, never a query: not descended into (a bound value may be a large
 * array, JSON or bytes). The only thing cached is this per-kind fact, which
 * holds for every node of the kind; nothing is cached per query.
 */
const LEAVES: Readonly<Record<string, true>> = Object.assign(Object.create(null) as Record<string, true>, {
  IdentifierNode: true,
  ValueNode: true,
  PrimitiveValueListNode: true,
  OperatorNode: true,
  ColumnNode: true,
  SchemableIdentifierNode: true,
  TableNode: true,
  SelectAllNode: true,
  // { column: ColumnNode | SelectAllNode, table?: TableNode }: names only, and the commonest node of all.
  ReferenceNode: true,
  DefaultInsertValueNode: true,
});

function visit(node: unknown, tables: ReadonlySet<string>): void {
  if (typeof node !== 'object' || node === null) return;
  if (Array.isArray(node)) {
    for (const n of node) visit(n, tables);
    return;
  }
  const kind = (node as { kind?: unknown }).kind;
  if (typeof kind !== 'string' || LEAVES[kind] === true) return;
  switch (kind) {
    case 'SelectQueryNode':
    case 'UpdateQueryNode':
    case 'DeleteQueryNode':
      checkFiltered(node as AnyNode, tables);
      break;
    case 'InsertQueryNode':
      checkInsert(node as AnyNode, tables);
      break;
    default:
      break;
  }
  // Kysely's nodes are plain frozen objects: for-in sees exactly their own members, without an array per node.
  for (const key in node) {
    const value = (node as Record<string, unknown>)[key];
    if (typeof value === 'object' && value !== null) visit(value, tables);
  }
}

interface TableRef {
  table: string;
  alias: string;
}

function tableRef(n: unknown): TableRef | undefined {
  if (!isNode(n)) return undefined;
  if (n.kind === 'TableNode') {
    const name = tableName(n);
    return name ? { table: name, alias: name } : undefined;
  }
  if (n.kind === 'AliasNode') {
    const inner = tableRef(n.node);
    const alias = isNode(n.alias) ? (n.alias as { name?: string }).name : undefined;
    return inner && alias ? { table: inner.table, alias } : inner;
  }
  return undefined;
}

function tableName(n: AnyNode): string | undefined {
  const t = n.table as { identifier?: { name?: string } } | undefined;
  return t?.identifier?.name;
}

function referencedTables(node: AnyNode): { refs: TableRef[]; conditions: unknown[] } {
  const refs: TableRef[] = [];
  const conditions: unknown[] = [];
  const from = node.from as { froms?: unknown[] } | undefined;
  for (const f of from?.froms ?? []) {
    const r = tableRef(f);
    if (r) refs.push(r);
  }
  if (node.kind === 'UpdateQueryNode') {
    const r = tableRef(node.table);
    if (r) refs.push(r);
  }
  for (const j of (node.joins as AnyNode[] | undefined) ?? []) {
    const r = tableRef(j.table);
    if (r) refs.push(r);
    const on = j.on as { on?: unknown } | undefined;
    if (on?.on) conditions.push(on.on);
  }
  const where = node.where as { where?: unknown } | undefined;
  if (where?.where) conditions.push(where.where);
  return { refs, conditions };
}

function conjuncts(n: unknown, out: AnyNode[]): void {
  if (!isNode(n)) return;
  if (n.kind === 'AndNode') {
    conjuncts(n.left, out);
    conjuncts(n.right, out);
  } else if (n.kind === 'ParensNode') {
    conjuncts(n.node, out);
  } else out.push(n);
}

/** `[alias.]tenant_id = <value>` → the qualifier ('' when unqualified). */
function tenantPin(n: AnyNode): string | undefined {
  if (n.kind !== 'BinaryOperationNode') return undefined;
  const op = n.operator as { operator?: string } | undefined;
  if (op?.operator !== '=') return undefined;
  const right = n.rightOperand as AnyNode | undefined;
  if (!right || right.kind !== 'ValueNode') return undefined;
  const value = (right as { value?: unknown }).value;
  if (value == null) return undefined;
  const left = n.leftOperand as AnyNode | undefined;
  if (!left || left.kind !== 'ReferenceNode') return undefined;
  const column = left.column as { column?: { name?: string } } | undefined;
  if (column?.column?.name !== 'tenant_id') return undefined;
  // A reusable query's placeholder: its value must not be null at any execution (reusable-query.ts).
  if (value instanceof QueryParam) value.tenantPin = true;
  const table = left.table as AnyNode | undefined;
  return table ? (tableName(table) ?? '') : '';
}

function checkFiltered(node: AnyNode, tables: ReadonlySet<string>): void {
  const { refs, conditions } = referencedTables(node);
  const guarded = refs.filter((r) => tables.has(r.table));
  if (guarded.length === 0) return;
  const leaves: AnyNode[] = [];
  for (const c of conditions) conjuncts(c, leaves);
  const pins = new Set(leaves.map(tenantPin).filter((p): p is string => p !== undefined));
  for (const ref of guarded) {
    const ok = pins.has(ref.alias) || (pins.has('') && refs.length === 1);
    if (!ok) {
      throw createError('DB_TENANT_SCOPE_MISSING', `query on tenant table ${ref.table} without a tenant condition`, 500);
    }
  }
}

function checkInsert(node: AnyNode, tables: ReadonlySet<string>): void {
  const ref = tableRef(node.into);
  if (!ref || !tables.has(ref.table)) return;
  const columns = (node.columns as Array<{ column?: { name?: string } }> | undefined) ?? [];
  if (!columns.some((c) => c.column?.name === 'tenant_id')) {
    throw createError('DB_TENANT_SCOPE_MISSING', `insert into tenant table ${ref.table} without tenant_id`, 500);
  }
}
