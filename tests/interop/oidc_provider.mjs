// A real OpenID provider for the single sign-on tests: panva's `oidc-provider` (an OpenID
// Certified implementation) in this process, with one confidential client that must use PKCE,
// RP-initiated logout, and a login step the test drives over HTTP: whoever the test names in
// `provider.nextAccount` signs in (no dev interactions, no form). A `Browser` keeps one
// cookie jar per origin and follows redirects by hand, so each step of the flow can be seen.

import { generateKeyPairSync, randomUUID } from 'node:crypto'
import { createServer } from 'node:http'

import Provider from 'oidc-provider'

import { freePort, sleep } from './support.mjs'

export const CLIENT_ID = 'opencoder-interop'
export const CLIENT_SECRET = 'interop-client-secret-0123456789'

/** A fresh RS256 signing key: each start of the provider signs with a key of its own. */
function signingKey () {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' }
}

/**
 * Start the provider for opencoder servers at `rpOrigins`. Returns `{ issuer, port, control,
 * stop }`: `control.nextAccount` = `{ sub, name, groups }` signs in at the next login step;
 * `control.idTokenTtl` is the ID tokens' lifetime in seconds; `control.tokenDelayMs` holds each
 * token response that long after it is made (the ID token ages on its way). Pass `port` and
 * `control` of a stopped provider to start it again as the same issuer with a new signing key.
 */
export async function startProvider (rpOrigins, { port, control } = {}) {
  port ??= await freePort()
  const issuer = `http://127.0.0.1:${port}`
  control ??= { nextAccount: null, idTokenTtl: 3600, tokenDelayMs: 0 }
  const accounts = new Map()
  const provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: rpOrigins.map((o) => `${o}/api/auth/oidc/callback`),
      post_logout_redirect_uris: rpOrigins.map((o) => `${o}/`),
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic'
    }],
    pkce: { required: () => true },
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'], groups: ['groups'] },
    // The claims of the granted scopes go into the ID token (what opencoder reads).
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } },
    ttl: { IdToken: () => control.idTokenTtl },
    cookies: { keys: ['interop-provider-cookie-key-0123456789'] },
    jwks: { keys: [signingKey()] },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: async (_ctx, sub) => {
      const account = accounts.get(sub)
      if (!account) return undefined
      return {
        accountId: sub,
        claims: async () => ({ sub, name: account.name, preferred_username: account.sub, groups: account.groups })
      }
    },
    // A first-party client: consent is implied, so the only interaction is the login.
    loadExistingGrant: async (ctx) => {
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId })
      grant.addOIDCScope('openid profile groups')
      await grant.save()
      return grant
    }
  })
  provider.use(async (ctx, next) => {
    await next()
    if (ctx.path === '/token' && control.tokenDelayMs > 0) await sleep(control.tokenDelayMs)
  })
  const callback = provider.callback()
  const server = createServer(async (req, res) => {
    if (!req.url.startsWith('/interaction/')) return callback(req, res)
    try {
      const details = await provider.interactionDetails(req, res)
      if (details.prompt.name !== 'login' || !control.nextAccount) throw new Error(`unexpected prompt ${details.prompt.name}`)
      const account = control.nextAccount
      accounts.set(account.sub, account)
      await provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false })
    } catch (err) {
      res.statusCode = 500
      res.end(String(err))
    }
  })
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve))
  return {
    issuer,
    port,
    control,
    async stop () {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}

/** A browser: cookies per origin, redirects followed by hand. */
export class Browser {
  constructor () {
    this.jars = new Map()
  }

  jar (origin) {
    if (!this.jars.has(origin)) this.jars.set(origin, new Map())
    return this.jars.get(origin)
  }

  cookie (url, name) {
    return this.jar(new URL(url).origin).get(name)
  }

  /** One request, no redirect followed; stores the cookies it sets. */
  async request (url, { method = 'GET', body, form } = {}) {
    const { origin } = new URL(url)
    const jar = this.jar(origin)
    const headers = {}
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ')
    let payload
    if (body !== undefined) {
      headers['content-type'] = 'application/json'
      payload = JSON.stringify(body)
    } else if (form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded'
      payload = new URLSearchParams(form).toString()
    }
    const res = await fetch(url, { method, headers, body: payload, redirect: 'manual' })
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';')
      const eq = pair.indexOf('=')
      const name = pair.slice(0, eq).trim()
      const value = pair.slice(eq + 1).trim()
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || attrs.some((a) => /^\s*expires=thu, 01 jan 1970/i.test(a))
      if (expired || value === '') jar.delete(name)
      else jar.set(name, value)
    }
    const location = res.headers.get('location')
    return { res, status: res.status, location: location && new URL(location, url).toString(), text: await res.text() }
  }

  /** Follow redirects from `url` until one leaves for `stopAt` (an origin) or a page answers. */
  async follow (url, stopAt) {
    let next = url
    for (let hops = 0; hops < 20; hops++) {
      const step = await this.request(next)
      if (!step.location) return { ...step, url: next }
      if (step.location.startsWith(stopAt)) return { ...step, url: next, stoppedAt: step.location }
      next = step.location
    }
    throw new Error(`too many redirects from ${url}`)
  }
}

/**
 * Start a sign-in at opencoder `base` and drive the provider until it sends the browser back:
 * returns the callback URL (not yet visited). `account` signs in at the provider.
 */
export async function signInAtProvider (browser, base, control, account, start = {}) {
  const started = await browser.request(`${base}/api/auth/oidc/start`, { method: 'POST', body: start })
  if (started.status !== 200) throw new Error(`start → ${started.status} ${started.text}`)
  const { url } = JSON.parse(started.text)
  control.nextAccount = account
  const back = await browser.follow(url, base)
  if (!back.stoppedAt) throw new Error(`the provider did not send the browser back: ${back.status} ${back.text.slice(0, 300)}`)
  return back.stoppedAt
}
