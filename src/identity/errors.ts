import { createError } from '../shared/errors.js';

const PASSWORD_CODES = {
  too_short: 'PASSWORD_TOO_SHORT',
  too_long: 'PASSWORD_TOO_LONG',
  common: 'PASSWORD_COMMON',
  weak: 'PASSWORD_WEAK',
  personal: 'PASSWORD_PERSONAL',
} as const;

/** Identity error codes (docs/errors.md). Login refusals never say whether the account exists. */
export const identityErrors = {
  loginFailed: () => createError('AUTH_LOGIN_FAILED', 'the email or the password is wrong', 401),
  accountLocked: () => createError('AUTH_ACCOUNT_LOCKED', 'this account is locked by a security response; an administrator must unlock it', 403),
  locked: (retryAfterSeconds: number) =>
    createError('AUTH_LOCKED', `too many attempts; try again in ${retryAfterSeconds} s`, 429, { retryAfter: retryAfterSeconds }),
  sessionInvalid: () => createError('AUTH_SESSION_INVALID', 'the session is not valid or has expired', 401),
  mfaPending: () => createError('AUTH_MFA_PENDING', 'a second factor is required before this session can be used', 401),
  mfaInvalid: () => createError('AUTH_MFA_INVALID', 'the code is not valid', 401),
  csrf: () => createError('AUTH_CSRF_FAILED', 'cookie-authenticated changes need the x-csrf-token header of this session and a same-origin Origin', 403),
  stepUp: (minutes: number) => createError('AUTH_STEP_UP_REQUIRED', `this action needs a second factor within the last ${minutes} minutes`, 403),
  password: (reason: 'too_short' | 'too_long' | 'common' | 'weak' | 'personal', detail: string) =>
    createError(PASSWORD_CODES[reason], detail, 422, { reason }),
  emailTaken: () => createError('ACCOUNT_EMAIL_TAKEN', 'an account with this email already exists here', 409),
  accountNotFound: () => createError('ACCOUNT_NOT_FOUND', 'account not found', 404),
  invitationInvalid: () => createError('INVITATION_INVALID', 'the invitation is not valid, was used or has expired', 400),
  setupInvalid: () => createError('SETUP_TOKEN_INVALID', 'the setup token is not valid, was used or has expired', 401),
  mfaAlreadyEnrolled: () => createError('MFA_ALREADY_ENROLLED', 'this factor is already enrolled', 409),
  mfaNotEnrolled: () => createError('MFA_NOT_ENROLLED', 'no such factor is enrolled', 409),
  roleUnknown: (role: string) => createError('ROLE_UNKNOWN', `unknown role ${role}`, 422),
  apiKeyNotFound: () => createError('API_KEY_NOT_FOUND', 'API key not found', 404),
  apiKeyScope: (what: string) => createError('API_KEY_SCOPE_INVALID', `an API key cannot hold ${what}`, 422),
  sessionNotFound: () => createError('SESSION_NOT_FOUND', 'session not found', 404),
  challengeInvalid: () => createError('MFA_CHALLENGE_INVALID', 'no live passkey challenge for this session: ask for options again', 400),
  passkeyRejected: (why: string) => createError('MFA_PASSKEY_REJECTED', `the passkey response was not accepted: ${why}`, 400),
  passkeyNotFound: () => createError('MFA_PASSKEY_NOT_FOUND', 'no such passkey on this account', 404),
};
