// Helpers for the interop suite: start the real opencoder binary, call its HTTP API, and a
// minimal Yjs provider built only from the stock y-protocols message handlers (the same ones
// y-websocket's provider uses), speaking over `ws` with opencoder's subprotocols.

import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import WebSocket from 'ws'
import * as authProtocol from 'y-protocols/auth'
import * as awarenessProtocol from 'y-protocols/awareness'
import * as syncProtocol from 'y-protocols/sync'
import * as Y from 'yjs'

const here = dirname(fileURLToPath(import.meta.url))
export const BIN = process.env.OPENCODER_BIN ?? resolve(here, '../../target/debug/opencoder')

const MESSAGE_SYNC = 0
const MESSAGE_AWARENESS = 1
const MESSAGE_AUTH = 2
const MESSAGE_QUERY_AWARENESS = 3
const MESSAGE_APP = 100

/** A free TCP port on loopback (the server cannot report one chosen with PORT=0). */
export function freePort () {
  return new Promise((resolvePort, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolvePort(port))
    })
  })
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Poll `predicate` until it holds or `ms` pass. */
export async function until (predicate, ms = 5000, what = 'condition') {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await predicate()) return
    await sleep(20)
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** The real binary with a fresh DATA_DIR and `env` on top of the test settings, on `port` (a
 * free one when not given: pass one to know the server's origin before it starts); `stop()`
 * terminates it and removes the directory. */
export async function startServer (env = {}, port = null) {
  const dataDir = mkdtempSync(join(tmpdir(), 'opencoder-interop-'))
  port ??= await freePort()
  const child = spawn(BIN, [], {
    env: {
      PATH: process.env.PATH,
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      PORT: String(port),
      RATE_LIMIT_PER_MINUTE: '100000',
      SIGNUP_RATE_LIMIT_PER_MINUTE: '10000',
      EXEC_POOL: '',
      EXEC_REMOVE_LEFTOVERS: '0',
      RUST_LOG: 'warn',
      ...env
    },
    stdio: ['ignore', 'inherit', 'inherit']
  })
  const base = `http://127.0.0.1:${port}`
  const exited = new Promise((r) => child.on('exit', r))
  await until(async () => {
    try {
      const res = await fetch(`${base}/api/health`)
      return res.status === 200 || res.status === 503
    } catch {
      return false
    }
  }, 20000, `the server at ${base} (binary ${BIN})`)
  return {
    base,
    wsBase: base.replace('http://', 'ws://'),
    async stop () {
      child.kill('SIGTERM')
      await exited
      rmSync(dataDir, { recursive: true, force: true })
    }
  }
}

/** One request, whatever its status: `{status, text, json}` (`json` null when the body is not JSON). */
export async function request (base, method, path, token, body) {
  const headers = {}
  if (token) headers.authorization = `Bearer ${token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  let json = null
  try { json = JSON.parse(text) } catch {}
  return { status: res.status, text, json }
}

/** One request that must succeed: its JSON body. */
export async function api (base, method, path, token, body) {
  const res = await request(base, method, path, token, body)
  if (res.status < 200 || res.status > 299) throw new Error(`${method} ${path} → ${res.status} ${res.text}`)
  return res.json
}

/**
 * Every GET operation of the server's API description (`/api/openapi.json`), fetched as `token`:
 * `{path, status, text, json}` each. `values(template)` gives each path parameter of a template
 * its values (name → array; an empty array skips the template); a parameter it does not name
 * throws, so a new route cannot be left out unnoticed.
 */
export async function everyGet (base, token, values) {
  const spec = await api(base, 'GET', '/api/openapi.json')
  const answers = []
  for (const [template, operations] of Object.entries(spec.paths)) {
    if (!operations.get) continue
    const known = values(template)
    let paths = [template]
    for (const [, name] of template.matchAll(/\{(\w+)\}/g)) {
      if (!known[name]) throw new Error(`no value for {${name}} of GET ${template}`)
      paths = paths.flatMap((path) => known[name].map((v) => path.replace(`{${name}}`, encodeURIComponent(v))))
    }
    for (const path of paths) answers.push({ path, ...await request(base, 'GET', path, token) })
  }
  return answers
}

export async function signup (base, name) {
  const body = await api(base, 'POST', '/api/auth/guest', null, { name })
  return { id: body.user.id, name, token: body.token }
}

/**
 * A Yjs client: a Y.Doc and an Awareness synced over the pad socket with the stock y-protocols
 * handlers, exactly as y-websocket's provider wires them. `socketPath` names another socket of the
 * pad (`/notes`); `frames` keeps every frame received, byte for byte.
 */
export class PadClient {
  constructor (wsBase, slug, token, socketPath = '') {
    this.doc = new Y.Doc()
    this.awareness = new awarenessProtocol.Awareness(this.doc)
    this.apps = []
    this.frames = []
    this.denied = []
    this.synced = false
    this.closed = null
    this.ws = new WebSocket(`${wsBase}/ws/pad/${slug}${socketPath}`, ['opencoder.v1', `oc.bearer.${token}`])
    this.ws.binaryType = 'arraybuffer'
    this.opened = new Promise((resolveOpen, reject) => {
      this.ws.once('open', resolveOpen)
      this.ws.once('error', reject)
    })
    this.ws.on('open', () => {
      const encoder = encoding.createEncoder()
      encoding.writeVarUint(encoder, MESSAGE_SYNC)
      syncProtocol.writeSyncStep1(encoder, this.doc)
      this.send(encoding.toUint8Array(encoder))
      if (this.awareness.getLocalState() !== null) this.sendAwareness([this.doc.clientID])
    })
    this.ws.on('message', (data) => this.onMessage(new Uint8Array(data)))
    this.ws.on('close', (code, reason) => { this.closed = { code, reason: reason.toString() } })
    this.doc.on('update', (update, origin) => {
      if (origin === this) return
      const encoder = encoding.createEncoder()
      encoding.writeVarUint(encoder, MESSAGE_SYNC)
      syncProtocol.writeUpdate(encoder, update)
      this.send(encoding.toUint8Array(encoder))
    })
    this.awareness.on('update', ({ added, updated, removed }, origin) => {
      if (origin !== 'local') return
      this.sendAwareness(added.concat(updated, removed))
    })
  }

  send (bytes) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(bytes)
  }

  sendAwareness (clients) {
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, MESSAGE_AWARENESS)
    encoding.writeVarUint8Array(encoder, awarenessProtocol.encodeAwarenessUpdate(this.awareness, clients))
    this.send(encoding.toUint8Array(encoder))
  }

  onMessage (bytes) {
    this.frames.push(bytes)
    const decoder = decoding.createDecoder(bytes)
    const encoder = encoding.createEncoder()
    const type = decoding.readVarUint(decoder)
    switch (type) {
      case MESSAGE_SYNC: {
        encoding.writeVarUint(encoder, MESSAGE_SYNC)
        const syncType = syncProtocol.readSyncMessage(decoder, encoder, this.doc, this)
        if (syncType === syncProtocol.messageYjsSyncStep2) this.synced = true
        if (encoding.length(encoder) > 1) this.send(encoding.toUint8Array(encoder))
        break
      }
      case MESSAGE_AWARENESS:
        awarenessProtocol.applyAwarenessUpdate(this.awareness, decoding.readVarUint8Array(decoder), this)
        break
      case MESSAGE_AUTH:
        authProtocol.readAuthMessage(decoder, this.doc, (_doc, reason) => this.denied.push(reason))
        break
      case MESSAGE_QUERY_AWARENESS:
        this.sendAwareness(Array.from(this.awareness.getStates().keys()))
        break
      case MESSAGE_APP:
        this.apps.push(JSON.parse(decoding.readVarString(decoder)))
        break
      default:
        // Stock clients ignore unknown types.
        break
    }
  }

  async ready () {
    await this.opened
    await until(() => this.synced, 5000, 'initial sync')
  }

  /** The text of the file with id `fileId` (its root is `file:<id>`). */
  text (fileId) {
    return this.doc.getText(`file:${fileId}`).toString()
  }

  close () {
    this.awareness.destroy()
    this.ws.close()
  }
}

/**
 * A running server with Alice's pad (one Python file) and Bob as a collaborator on it. The
 * fixture of every interop suite; the caller stops the server.
 */
export async function twoPeoplePad (title) {
  const server = await startServer()
  const alice = await signup(server.base, 'Alice')
  const bob = await signup(server.base, 'Bob')
  const created = await api(server.base, 'POST', '/api/pads', alice.token, { title, language: 'python' })
  const { invite } = await api(server.base, 'POST', `/api/pads/${created.pad.slug}/invites`, alice.token, { role: 'collaborator' })
  await api(server.base, 'POST', `/api/invites/${invite.token}/accept`, bob.token, {})
  return { server, alice, bob, pad: created.pad, file: created.files[0] }
}

/**
 * An interview pad `interviewer` starts from their question `questionId`, with `candidate` invited
 * as its candidate, knocking and let in from the waiting room. Returns the start's answer
 * (`pad`, `files`).
 */
export async function admittedInterview (base, interviewer, candidate, questionId, language = 'python') {
  const started = await api(base, 'POST', `/api/questions/${questionId}/interviews`, interviewer.token, { language })
  const slug = started.pad.slug
  const { invite } = await api(base, 'POST', `/api/pads/${slug}/invites`, interviewer.token, { role: 'candidate' })
  await api(base, 'POST', `/api/invites/${invite.token}/accept`, candidate.token, {})
  await api(base, 'POST', `/api/pads/${slug}/interview/knock`, candidate.token, {})
  await api(base, 'POST', `/api/pads/${slug}/interview/admissions/${candidate.id}`, interviewer.token, { admit: true })
  return { ...started, inviteToken: invite.token }
}

/** Whether any of `frames` (received bytes) holds `text` as UTF-8. */
export function holds (frames, text) {
  const needle = Buffer.from(text)
  return frames.some((frame) => Buffer.from(frame).includes(needle))
}

/**
 * Everything a Y.Doc holds, as text: every root (whatever type the server gave it, since a stock
 * client that never asked for a root cannot know it), and inside it every item of sequences and
 * maps — map keys, strings, JSON and binary values, embeds, formatting attributes, nested types
 * and subdocuments, recursively — deleted items included while their content is kept.
 */
export function docContents (doc) {
  const out = []
  // Binary (a ContentBinary's bytes, or bytes inside a value) as Latin-1, so text in it shows.
  const json = (value) => JSON.stringify(value, (_key, v) => v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v)
  const item = (it) => {
    if (it.parentSub !== null) out.push(it.parentSub)
    const content = it.content
    if (content instanceof Y.ContentType) type(content.type)
    else if (content instanceof Y.ContentDoc) out.push(docContents(content.doc))
    else if (content instanceof Y.ContentString) out.push(content.str)
    else if (content instanceof Y.ContentFormat) out.push(content.key, json(content.value))
    else out.push(json(content.getContent()))
  }
  const type = (t) => {
    if (typeof t.nodeName === 'string') out.push(t.nodeName)
    for (let it = t._start; it !== null; it = it.right) item(it)
    for (const last of t._map.values()) {
      // A map key's earlier values are the items left of its current one.
      for (let it = last; it !== null; it = it.left) item(it)
    }
  }
  for (const [name, root] of doc.share) {
    out.push(name)
    type(root)
  }
  return out.join('\n')
}

/** The newest PostgreSQL server programs of Debian's `postgresql` package. */
function postgresBin () {
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)) : []
  if (versions.length === 0) {
    throw new Error('PostgreSQL is not installed (run scripts/ensure-postgres.sh)')
  }
  return join(root, versions.sort((a, b) => Number(b) - Number(a))[0], 'bin')
}

/**
 * A throwaway PostgreSQL in a temp directory on a free port (run as the `postgres` user when the
 * tests run as root, as PostgreSQL refuses root). `url` names its `postgres` database.
 */
export async function startPostgres () {
  const bin = postgresBin()
  const dir = mkdtempSync(join(tmpdir(), 'oc-interop-pg-'))
  const asServer = process.getuid() === 0 ? ['runuser', '-u', 'postgres', '--'] : []
  if (asServer.length) execFileSync('chown', ['-R', 'postgres:', dir])
  const run = (program, args) => asServer.length ? [asServer[0], [...asServer.slice(1), program, ...args]] : [program, args]
  execFileSync(...run(join(bin, 'initdb'), ['-D', join(dir, 'data'), '-U', 'opencoder', '--auth=trust',
    '--no-sync', '--encoding=UTF8', '--locale=C', '--no-instructions']), { stdio: 'ignore' })
  const port = await freePort()
  const child = spawn(...run(join(bin, 'postgres'), ['-D', join(dir, 'data'), '-p', String(port), '-k', dir,
    '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off']), { stdio: 'ignore' })
  const exited = new Promise((r) => child.on('exit', r))
  const pidFile = join(dir, 'data', 'postmaster.pid')
  const status = () => existsSync(pidFile) ? readFileSync(pidFile, 'utf8') : ''
  await until(() => status().split('\n').some((line) => line.trim() === 'ready'), 60000, 'PostgreSQL to start')
  return {
    url: `postgres://opencoder@127.0.0.1:${port}/postgres`,
    async stop () {
      // The postmaster itself (not a `runuser` in between): a fast shutdown.
      process.kill(Number(status().split('\n')[0]), 'SIGINT')
      await exited
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** A throwaway Redis listening only on a Unix socket in a temp directory. */
export async function startRedis () {
  const dir = mkdtempSync(join(tmpdir(), 'oc-interop-redis-'))
  const socket = join(dir, 'redis.sock')
  const child = spawn('redis-server', ['--port', '0', '--unixsocket', socket, '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' })
  const exited = new Promise((r) => child.on('exit', r))
  child.on('error', () => {})
  await until(() => existsSync(socket), 20000, 'Redis to start (run scripts/ensure-redis.sh)')
  return {
    url: `redis+unix://${socket}`,
    async stop () {
      child.kill('SIGTERM')
      await exited
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
