import { createError } from '../shared/errors.js';

/** SIEM runtime error codes (docs/errors.md). */
export const siemErrors = {
  alertNotFound: () => createError('SIEM_ALERT_NOT_FOUND', 'alert not found', 404),
  ruleNotFound: (id: string) => createError('SIEM_RULE_NOT_FOUND', `no rule ${id} is loaded`, 404),
  responseNotFound: () => createError('SIEM_RESPONSE_NOT_FOUND', 'no such response on this alert', 404),
  transition: (from: string, to: string) => createError('SIEM_ALERT_TRANSITION_INVALID', `an alert cannot go from ${from} to ${to}`, 409),
  alreadyReverted: () => createError('SIEM_RESPONSE_NOT_REVERTIBLE', 'this response was already reverted or changed nothing', 409),
  assignee: () => createError('SIEM_ASSIGNEE_INVALID', 'the assignee must be an active platform account', 422),
  rulesUnreadable: (path: string, why: string) => createError('SIEM_RULES_UNREADABLE', `SIEM rules ${path}: ${why}`, 500),
  fileUnreadable: (what: string, path: string, why: string) => createError('SIEM_FILE_UNREADABLE', `siem ${what} ${path}: ${why}`, 500),
  secretMissing: (what: string, env: string) =>
    createError('SIEM_SECRET_MISSING', `siem ${what}: environment variable ${env} is not set (or holds fewer than 32 bytes)`, 500),
  notifyFailed: (channel: string, why: string) => createError('SIEM_NOTIFY_FAILED', `${channel} notification failed: ${why}`, 502),
  cursorMoved: () => createError('SIEM_CURSOR_MOVED', 'another process advanced the SIEM cursor; state reloaded', 409),
  badCursor: () => createError('PAGINATION_CURSOR_INVALID', 'the cursor is not one this API issued', 400),
};
