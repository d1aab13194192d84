import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';

/** A table a unit of work wrote to; for an UPDATE, also the columns it set. */
export interface TouchedTable {
  table: string;
  /** Set columns of an UPDATE; undefined for INSERT and DELETE. */
  columns?: readonly string[];
}

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

const passResult = (args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> => Promise.resolve(args.result);

/**
 * What one db.write unit has written: db.write gives each unit a Tx carrying
 * its own tracker (`tx.withPlugin`), so every INSERT/UPDATE/DELETE built on
 * that Tx — or on a handle derived from it, such as a tenant scope — is noted
 * here, whatever async path issued it, and db.write tells its listeners after
 * the COMMIT (the identity module drops cached principals when a session,
 * account, role, grant or API key changes). Only the root node is looked at:
 * a few property reads per query. Raw SQL is not seen (stores do not write
 * those tables that way); reused compiled queries report through noteWrite.
 */
export class UnitWrites implements KyselyPlugin {
  readonly touched: TouchedTable[] = [];

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    const t = touchedBy(args.node);
    if (t) this.touched.push(t);
    return args.node;
  }

  transformResult = passResult;
}

/** Notes a write that did not pass through Kysely's plugins (a reused compiled query) in `tx`'s unit of work, if it is one. */
export function noteWrite(tx: { getExecutor(): { readonly plugins: readonly KyselyPlugin[] } }, touched: TouchedTable): void {
  for (const p of tx.getExecutor().plugins) {
    if (p instanceof UnitWrites) {
      p.touched.push(touched);
      return;
    }
  }
}
