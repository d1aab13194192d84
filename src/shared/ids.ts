import { v7 as uuidv7, validate, version } from 'uuid';

/** A new UUIDv7: time-ordered, so inserts stay local in B-trees. */
export function newId(): string {
  return uuidv7();
}

/** True for a syntactically valid UUID of any version. */
export function isUuid(value: string): boolean {
  return validate(value) && version(value) >= 1;
}
