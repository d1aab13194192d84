import { AsyncLocalStorage } from 'node:async_hooks';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';

/** A table a unit of work wrote to; for an UPDATE, also the columns it set. */
export interface TouchedTable {
  table: string;
  /** Set columns of an UPDATE; undefined for INSERT and DELETE. */
  columns?: readonly string[];
}

/** What one db.write unit has written so far (its async context carries it). */
export interface WriteScope {
  touched: TouchedTable[];
}

/** The unit of work the current async context runs in, if any (db.write sets it). */
export const writeScope = new AsyncLocalStorage<WriteScope>();

type Node = { kind: string } & Record<string, unknown>;

function nameOf(table: unknown): string | undefined {
  const n = table as { kind?: string; node?: unknown; table?: { identifier?: { name?: string } } } | undefined;
  if (n?.kind === 'AliasNode') return nameOf(n.node);
  return n?.kind === 'TableNode' ? n.table?.identifier?.name : undefined;
}

/** The table an INSERT/UPDATE/DELETE root node writes (and an UPDATE's set columns); undefined for anything else. */
export function touchedBy(root: RootOperationNode): TouchedTable | undefined {
  const node = root as unknown as Node;
  switch (node.kind) {
    case 'InsertQueryNode': {
      const table = nameOf(node.into);
      return table ? { table } : undefined;
    }
    case 'UpdateQueryNode': {
      const table = nameOf(node.table);
      const updates = (node.updates as Array<{ column?: { column?: { name?: string } } }> | undefined) ?? [];
      return table ? { table, columns: updates.map((u) => u.column?.column?.name ?? '*') } : undefined;
    }
    case 'DeleteQueryNode': {
      const froms = (node.from as { froms?: unknown[] } | undefined)?.froms ?? [];
      const table = nameOf(froms[0]);
      return table ? { table } : undefined;
    }
    default:
      return undefined;
  }
}

/** Notes a write that did not pass through Kysely's plugins (a reused compiled query) in `tx`'s unit of work. */
export function noteWrite(_tx: unknown, touched: TouchedTable): void {
  writeScope.getStore()?.touched.push(touched);
}

/**
 * Notes, in the current unit of work, which tables its INSERT/UPDATE/DELETE
 * queries write, so db.write can tell listeners after the COMMIT (the
 * identity module drops cached principals when a session, account, role,
 * grant or API key changes). Only the root node is looked at: a few property
 * reads per query. Raw SQL and precompiled queries are not seen; stores do
 * not write those tables that way.
 */
export class WriteTrackerPlugin implements KyselyPlugin {
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    const scope = writeScope.getStore();
    if (scope) {
      const t = touchedBy(args.node);
      if (t) scope.touched.push(t);
    }
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}
