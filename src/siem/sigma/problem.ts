/** Shared by the rule and pipeline parsers: a problem at a YAML path. */
export class RuleProblem extends Error {
  constructor(readonly path: string, message: string) {
    super(message);
  }
}

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
