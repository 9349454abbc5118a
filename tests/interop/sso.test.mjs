// Single sign-on (issue 14 §6) against a real OpenID provider (`oidc-provider`, see
// oidc_provider.mjs) and the real opencoder binary: sign-in creating and then reusing the linked
// account, the admin claim granting and revoking the role, a forged or missing state, a replayed
// code, an expired ID token, another browser's callback, logout through the provider, linking a
// name-only account, sign-up modes, and SSO-only mode refusing name sign-up.

import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { promisify } from 'node:util'

import { Browser, CLIENT_ID, CLIENT_SECRET, signInAtProvider, startProvider } from './oidc_provider.mjs'
import { BIN, api, freePort, sleep, startServer } from './support.mjs'

let idp
let mixed
let ssoOnly
let quick
let rpOrigins

const ADA = { sub: 'ada-0001', name: 'Ada Lovelace', groups: ['opencoder-admins', 'staff'] }

function ssoEnv (issuer, port, extra = {}) {
  return {
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
    OIDC_ISSUER: issuer,
    OIDC_CLIENT_ID: CLIENT_ID,
    OIDC_CLIENT_SECRET: CLIENT_SECRET,
    OIDC_SCOPES: 'openid profile groups',
    OIDC_LABEL: 'Interop ID',
    OIDC_ADMIN_CLAIM: 'groups',
    OIDC_ADMIN_VALUE: 'opencoder-admins',
    // The expired-token test delays a token past its 1 s life: no grace here.
    OIDC_CLOCK_SKEW_SECS: '0',
    ...extra
  }
}

before(async () => {
  const [mixedPort, ssoPort, quickPort] = [await freePort(), await freePort(), await freePort()]
  rpOrigins = [mixedPort, ssoPort, quickPort].map((port) => `http://127.0.0.1:${port}`)
  idp = await startProvider(rpOrigins)
  mixed = await startServer(ssoEnv(idp.issuer, mixedPort), mixedPort)
  ssoOnly = await startServer(ssoEnv(idp.issuer, ssoPort, { AUTH_MODE: 'sso' }), ssoPort)
  // Sign-ins there expire a second after they start.
  quick = await startServer(ssoEnv(idp.issuer, quickPort, { OIDC_LOGIN_TTL_SECS: '1' }), quickPort)
})

after(async () => {
  await mixed?.stop()
  await ssoOnly?.stop()
  await quick?.stop()
  await idp?.stop()
})

/** Sign `account` in with a fresh browser; returns the browser and the callback's answer. */
async function signIn (server, account, start) {
  const browser = new Browser()
  const callback = await signInAtProvider(browser, server.base, idp.control, account, start)
  const done = await browser.request(callback)
  return { browser, done, callback }
}

/** Who the browser's session cookie says it is (null: signed out). */
async function me (browser, base) {
  const { status, text } = await browser.request(`${base}/api/auth/me`)
  assert.equal(status, 200, text)
  return JSON.parse(text).user
}

function assertRefused (done, code) {
  assert.equal(done.status, 303)
  assert.equal(new URL(done.location).search, `?sso_error=${code}`)
  assert.ok(!done.res.headers.getSetCookie().some((c) => /^oc_token=[^;]/.test(c)), 'no session cookie')
}

async function auditActions (adminBrowser, base, action) {
  const { text } = await adminBrowser.request(`${base}/api/admin/audit?action=${action}&limit=100`)
  return JSON.parse(text).rows
}

test('the config endpoint tells the client which ways in exist', async () => {
  assert.deepEqual(await api(mixed.base, 'GET', '/api/auth/config'), { names: true, sso: { label: 'Interop ID' } })
  assert.deepEqual(await api(ssoOnly.base, 'GET', '/api/auth/config'), { names: false, sso: { label: 'Interop ID' } })
})

test('a first sign-in creates the linked account, the next one reuses it, and the claim grants then revokes admin', async () => {
  const first = await signIn(mixed, ADA)
  assert.equal(first.done.status, 303)
  assert.equal(first.done.location, `${mixed.base}/`)
  const user = await me(first.browser, mixed.base)
  assert.equal(user.name, 'Ada Lovelace')
  assert.equal(user.isAdmin, true, 'the groups claim holds opencoder-admins')
  assert.equal(first.browser.cookie(mixed.base, 'oc_sso'), undefined, 'the sign-in cookie is cleared')

  const again = await signIn(mixed, ADA)
  const reused = await me(again.browser, mixed.base)
  assert.equal(reused.id, user.id, 'the same account, found by issuer + subject')
  assert.equal((await again.browser.request(`${mixed.base}/api/admin/users`)).status, 200)

  const demoted = await signIn(mixed, { ...ADA, name: 'Someone Else', groups: ['staff'] })
  const after = await me(demoted.browser, mixed.base)
  assert.equal(after.id, user.id)
  assert.equal(after.name, 'Ada Lovelace', 'the name is taken at the first sign-in only')
  assert.equal(after.isAdmin, false, 'the claim no longer holds the value: the role is taken away')
  assert.equal((await demoted.browser.request(`${mixed.base}/api/admin/users`)).status, 403)
  // The earlier session's admin access went with the role (read from the database each request).
  assert.equal((await again.browser.request(`${mixed.base}/api/admin/users`)).status, 403)

  const admin = await signIn(mixed, ADA)
  const grants = await auditActions(admin.browser, mixed.base, 'user.sso.admin.grant')
  const revokes = await auditActions(admin.browser, mixed.base, 'user.sso.admin.revoke')
  assert.equal(grants.length, 2)
  assert.equal(revokes.length, 1)
  const logins = await auditActions(admin.browser, mixed.base, 'user.sso.login')
  assert.ok(logins.length >= 4)
  const links = await auditActions(admin.browser, mixed.base, 'user.sso.link')
  assert.ok(links.some((row) => JSON.stringify(row).includes(ADA.sub)))
})

test('a forged or missing state is refused, and the sign-in it named cannot be completed after', async () => {
  const browser = new Browser()
  const callback = await signInAtProvider(browser, mixed.base, idp.control, { sub: 'eve-1', name: 'Eve', groups: [] })
  const forged = new URL(callback)
  forged.searchParams.set('state', 'forged-state')
  assertRefused(await browser.request(forged.toString()), 'sso_state_mismatch')
  // The genuine callback now finds no sign-in under way: a state is single-use.
  assertRefused(await browser.request(callback), 'sso_state_mismatch')
  assert.equal(await me(browser, mixed.base), null)

  const again = new Browser()
  const second = new URL(await signInAtProvider(again, mixed.base, idp.control, { sub: 'eve-1', name: 'Eve', groups: [] }))
  second.searchParams.delete('state')
  assertRefused(await again.request(second.toString()), 'sso_state_mismatch')
})

test("another browser's callback signs nobody in", async () => {
  const victim = new Browser()
  const callback = await signInAtProvider(victim, mixed.base, idp.control, { sub: 'vic-1', name: 'Vic', groups: [] })
  const attacker = new Browser()
  assertRefused(await attacker.request(callback), 'sso_state_mismatch')
  assert.equal(await me(attacker, mixed.base), null)
})

test('a replayed code is refused by the provider, and a replayed callback finds nothing', async () => {
  const { browser, done, callback } = await signIn(mixed, { sub: 'rex-1', name: 'Rex', groups: [] })
  assert.equal(done.location, `${mixed.base}/`)
  // The very same callback again: the sign-in it belonged to is used up.
  assertRefused(await browser.request(callback), 'sso_state_mismatch')
  // The old code under a fresh sign-in's state: opencoder sends it to the provider, which has
  // already redeemed it.
  const fresh = new Browser()
  const freshCallback = new URL(await signInAtProvider(fresh, mixed.base, idp.control, { sub: 'rex-1', name: 'Rex', groups: [] }))
  freshCallback.searchParams.set('code', new URL(callback).searchParams.get('code'))
  assertRefused(await fresh.request(freshCallback.toString()), 'sso_code_rejected')
  assert.equal(await me(fresh, mixed.base), null)
})

test('an ID token that expired before it arrived is refused', async () => {
  idp.control.idTokenTtl = 1
  idp.control.tokenDelayMs = 2500
  try {
    const { browser, done } = await signIn(mixed, { sub: 'old-1', name: 'Old', groups: [] })
    assertRefused(done, 'sso_id_token_invalid')
    assert.equal(await me(browser, mixed.base), null)
  } finally {
    idp.control.idTokenTtl = 3600
    idp.control.tokenDelayMs = 0
  }
  // The same identity signs in once tokens are fresh again.
  const { done } = await signIn(mixed, { sub: 'old-1', name: 'Old', groups: [] })
  assert.equal(done.location, `${mixed.base}/`)
})

test('new signing keys at the provider are fetched at the next sign-in', async () => {
  const rot = { sub: 'rot-1', name: 'Rot', groups: [] }
  assert.equal((await signIn(mixed, rot)).done.location, `${mixed.base}/`)
  // The same issuer, restarted with another key: opencoder's cached keys no longer verify.
  const { port, control } = idp
  await idp.stop()
  idp = await startProvider(rpOrigins, { port, control })
  const { browser, done } = await signIn(mixed, rot)
  assert.equal(done.location, `${mixed.base}/`)
  assert.equal((await me(browser, mixed.base)).name, 'Rot')
})

test('a sign-in that outlived OIDC_LOGIN_TTL_SECS is refused as expired', async () => {
  const browser = new Browser()
  const callback = await signInAtProvider(browser, quick.base, idp.control, { sub: 'slow-1', name: 'Slow', groups: [] })
  await sleep(1500)
  assertRefused(await browser.request(callback), 'sso_login_expired')
  assert.equal(await me(browser, quick.base), null)
})

test('the provider refusing the sign-in is reported, not a session', async () => {
  const browser = new Browser()
  const started = await browser.request(`${mixed.base}/api/auth/oidc/start`, { method: 'POST', body: {} })
  const state = new URL(JSON.parse(started.text).url).searchParams.get('state')
  const back = `${mixed.base}/api/auth/oidc/callback?error=access_denied&state=${state}`
  assertRefused(await browser.request(back), 'sso_provider_error')
})

test('logout ends the session and sends the browser through the provider with the ID token hint', async () => {
  const { browser } = await signIn(mixed, { sub: 'lou-1', name: 'Lou', groups: [] })
  assert.ok(browser.cookie(mixed.base, 'oc_sso_id'), 'the ID token is kept for the logout hint')
  const out = await browser.request(`${mixed.base}/api/auth/logout`, { method: 'POST', body: {} })
  assert.equal(out.status, 200)
  const { redirect } = JSON.parse(out.text)
  const endSession = new URL(redirect)
  assert.equal(endSession.origin, idp.issuer)
  assert.ok(endSession.searchParams.get('id_token_hint'))
  assert.equal(endSession.searchParams.get('post_logout_redirect_uri'), `${mixed.base}/`)
  assert.equal(await me(browser, mixed.base), null, 'the session cookie is gone')
  assert.equal(browser.cookie(mixed.base, 'oc_sso_id'), undefined)

  // At the provider: its confirmation form, then back to opencoder's front page.
  const page = await browser.request(redirect)
  assert.equal(page.status, 200, page.text.slice(0, 300))
  const xsrf = page.text.match(/name="xsrf" value="([^"]+)"/)[1]
  const action = new URL(page.text.match(/action="([^"]+)"/)[1], redirect).toString()
  const confirmed = await browser.request(action, { method: 'POST', form: { xsrf, logout: 'yes' } })
  const landed = confirmed.location.startsWith(mixed.base)
    ? confirmed.location
    : (await browser.follow(confirmed.location, mixed.base)).stoppedAt
  assert.equal(landed, `${mixed.base}/`)
  // The provider's session ended too: the next sign-in asks for a login again.
  idp.control.nextAccount = null
  const restart = await browser.request(`${mixed.base}/api/auth/oidc/start`, { method: 'POST', body: {} })
  const atProvider = await browser.request(JSON.parse(restart.text).url)
  assert.match(new URL(atProvider.location).pathname, /^\/interaction\//)
})

test('a name-only account links itself and then signs in with the provider', async () => {
  const signup = await api(mixed.base, 'POST', '/api/auth/guest', null, { name: 'Nia' })
  const browser = new Browser()
  browser.jar(mixed.base).set('oc_token', signup.token)
  const linked = async () => JSON.parse((await browser.request(`${mixed.base}/api/auth/oidc/link`)).text).linked
  assert.equal(await linked(), false)
  const callback = await signInAtProvider(browser, mixed.base, idp.control, { sub: 'nia-1', name: 'Nia SSO', groups: [] }, { link: true })
  const done = await browser.request(callback)
  assert.equal(done.location, `${mixed.base}/`)
  assert.equal(await linked(), true)
  const fresh = await signIn(mixed, { sub: 'nia-1', name: 'Nia SSO', groups: [] })
  const user = await me(fresh.browser, mixed.base)
  assert.equal(user.id, signup.user.id)
  assert.equal(user.name, 'Nia')

  // The identity is now taken: another account cannot link it.
  const other = await api(mixed.base, 'POST', '/api/auth/guest', null, { name: 'Mallory' })
  const mallory = new Browser()
  mallory.jar(mixed.base).set('oc_token', other.token)
  const stolen = await signInAtProvider(mallory, mixed.base, idp.control, { sub: 'nia-1', name: 'Nia SSO', groups: [] }, { link: true })
  assertRefused(await mallory.request(stolen), 'sso_already_linked')
  // Linking needs a session.
  const anonymous = await new Browser().request(`${mixed.base}/api/auth/oidc/start`, { method: 'POST', body: { link: true } })
  assert.equal(anonymous.status, 401)
})

test('closed and invite-only sign-up refuse new SSO accounts; linked ones still sign in', async () => {
  const { browser: admin } = await signIn(mixed, ADA)
  const set = (mode) => admin.request(`${mixed.base}/api/admin/signup`, { method: 'PUT', body: { mode } })
  assert.equal((await set('closed')).status, 200)
  try {
    assertRefused((await signIn(mixed, { sub: 'new-1', name: 'New', groups: [] })).done, 'signup_closed')
    const known = await signIn(mixed, { sub: 'rex-1', name: 'Rex', groups: [] })
    assert.equal(known.done.location, `${mixed.base}/`)

    assert.equal((await set('invite-only')).status, 200)
    assertRefused((await signIn(mixed, { sub: 'new-2', name: 'New', groups: [] })).done, 'signup_invite_required')
    const owner = await me(known.browser, mixed.base)
    assert.ok(owner)
    const pad = JSON.parse((await known.browser.request(`${mixed.base}/api/pads`, { method: 'POST', body: { title: 'sso', language: 'python' } })).text)
    const invite = JSON.parse((await known.browser.request(`${mixed.base}/api/pads/${pad.pad.slug}/invites`, { method: 'POST', body: { role: 'collaborator' } })).text)
    const invited = await signIn(mixed, { sub: 'new-2', name: 'Invited', groups: [] }, { invite: invite.invite.token })
    assert.equal(invited.done.location, `${mixed.base}/`)
    assert.equal((await me(invited.browser, mixed.base)).name, 'Invited')
  } finally {
    assert.equal((await set('open')).status, 200)
  }
})

test('SSO-only mode refuses name sign-up and recovery, and signs in with the provider', async () => {
  for (const [path, body] of [['/api/auth/guest', { name: 'Sam' }], ['/api/auth/recover', { recoveryKey: `ocr_${'0'.repeat(40)}` }]]) {
    const res = await fetch(`${ssoOnly.base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    assert.equal(res.status, 403)
    assert.equal((await res.json()).error, 'sso_only')
  }
  const { browser, done } = await signIn(ssoOnly, { sub: 'sam-1', name: 'Sam', groups: [] })
  assert.equal(done.location, `${ssoOnly.base}/`)
  assert.equal((await me(browser, ssoOnly.base)).name, 'Sam')
})

test('opencoder doctor sees the provider answer discovery', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'opencoder-doctor-'))
  try {
    // Asynchronously: the provider answers from this very process.
    const { stdout } = await promisify(execFile)(BIN, ['doctor'], {
      env: { PATH: process.env.PATH, DATA_DIR: dataDir, ...ssoEnv(idp.issuer, 4000) }
    }).catch((err) => err)
    const line = stdout.split('\n').find((l) => l.includes('] sso '))
    assert.match(line, /^\[ ok \] sso .*answers discovery \(logout goes through the provider\)/)
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
})
