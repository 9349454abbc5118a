import { describe, expect, it } from 'vitest';
import { afterSignIn, inviteTokenIn, sanitizeNext, signInUrlFor } from '../src/features/auth/deepLink';

describe('deep-link return', () => {
  it('keeps in-app destinations', () => {
    expect(sanitizeNext('/p/abc123')).toBe('/p/abc123');
    expect(sanitizeNext('/invite/tok_en-1')).toBe('/invite/tok_en-1');
    expect(sanitizeNext('/take-home/tok_en-1')).toBe('/take-home/tok_en-1');
    expect(sanitizeNext('/take-home/a/b')).toBeNull();
    expect(sanitizeNext('/dashboard')).toBe('/dashboard');
    expect(sanitizeNext('/settings')).toBe('/settings');
    expect(sanitizeNext('/p/abc?file=main.py')).toBe('/p/abc?file=main.py');
    expect(sanitizeNext('/p/abc/recordings/12?t=3400')).toBe('/p/abc/recordings/12?t=3400');
    expect(sanitizeNext('/p/abc/recordings/x/y')).toBeNull();
  });

  it('refuses open redirects and non-app paths', () => {
    for (const bad of [
      '//evil.example/p/x',
      '/\\evil.example',
      'https://evil.example/p/x',
      'javascript:alert(1)',
      'p/abc',
      '/api/auth/me',
      '/ws/pad/x',
      '/p/../api/x',
      '/%2F%2Fevil.example',
      '/p/a/b/c',
      '',
      null,
      undefined,
      '/p/x\ty',
    ]) {
      expect(sanitizeNext(bad as string), String(bad)).toBeNull();
    }
  });

  it('builds and reads the landing URL', () => {
    expect(signInUrlFor('/invite/abc')).toBe('/?next=%2Finvite%2Fabc');
    expect(signInUrlFor('/dashboard')).toBe('/');
    expect(signInUrlFor('//evil')).toBe('/');
    expect(afterSignIn('?next=%2Fp%2Fxyz')).toBe('/p/xyz');
    expect(afterSignIn('?next=https%3A%2F%2Fevil')).toBe('/dashboard');
    expect(afterSignIn('')).toBe('/dashboard');
  });

  it('round-trips every allowed path through the landing URL', () => {
    for (const path of ['/p/s1', '/invite/t1', '/settings', '/p/s1?x=1']) {
      const url = new URL(signInUrlFor(path), 'http://host');
      expect(afterSignIn(url.search)).toBe(path);
    }
  });
});

describe('inviteTokenIn', () => {
  it('finds the token of an invite destination only', () => {
    expect(inviteTokenIn('/invite/abc_DEF-123')).toBe('abc_DEF-123');
    expect(inviteTokenIn('/invite/abc?x=1')).toBe('abc');
    expect(inviteTokenIn('/dashboard')).toBeUndefined();
    expect(inviteTokenIn('/p/invite/abc')).toBeUndefined();
  });

  it('lets /admin be a destination after sign-in', () => {
    expect(sanitizeNext('/admin')).toBe('/admin');
  });
});
