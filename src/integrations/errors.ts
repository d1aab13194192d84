import { createError } from '../shared/errors.js';

export const integrationErrors = {
  nameTaken: (name: string) => createError('INTEGRATION_NAME_TAKEN', `an integration named "${name}" already exists in this tenant`, 409),
  kindMismatch: (kind: string, needed: string) =>
    createError('INTEGRATION_KIND_MISMATCH', `this integration holds an ${kind} secret; the operation needs a ${needed} secret`, 409),
  badCursor: () => createError('PAGINATION_CURSOR_INVALID', 'the cursor is not one this API issued', 400),
};
