import { describe, expect, it } from 'vitest';
import { describeCode } from '../src/api/errors';
import { ssoErrorIn } from '../src/features/auth/sso';

describe('single sign-on errors on the sign-in page', () => {
  it('reads the code the server redirected with', () => {
    expect(ssoErrorIn('?sso_error=sso_state_mismatch')).toBe('sso_state_mismatch');
    expect(ssoErrorIn('?next=%2Fsettings')).toBeNull();
    expect(ssoErrorIn('')).toBeNull();
  });

  it('says every refusal in plain words, and an unknown code by name', () => {
    for (const code of [
      'sso_state_mismatch',
      'sso_login_expired',
      'sso_provider_error',
      'sso_code_rejected',
      'sso_id_token_invalid',
      'sso_unavailable',
      'sso_already_linked',
      'signup_closed',
      'signup_invite_required',
      'account_disabled',
    ]) {
      expect(describeCode(code)).not.toContain(code);
    }
    expect(describeCode('sso_something_new')).toBe('The sign-in failed (sso_something_new).');
  });
});
