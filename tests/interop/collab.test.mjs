// Stock Yjs clients against the real server (SPEC §4): concurrent typing converges on both
// clients and in the REST view, a late joiner gets the full state, and awareness is stamped with
// the real user name whatever the client claims.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'

import { PadClient, api, signup, sleep, twoPeoplePad, until } from './support.mjs'

let server
let alice
let bob
let pad
let file

before(async () => {
  ({ server, alice, bob, pad, file } = await twoPeoplePad('interop'))
})

after(async () => {
  await server?.stop()
})

/** Type `count` characters one keystroke at a time at pseudo-random positions. */
async function typeInto (client, fileId, tag, count, seed) {
  const ytext = client.doc.getText(`file:${fileId}`)
  let x = seed
  for (let i = 0; i < count; i++) {
    x = (x * 1103515245 + 12345) % 2147483648
    const pos = ytext.length === 0 ? 0 : x % (ytext.length + 1)
    ytext.insert(pos, tag[i % tag.length])
    if (i % 7 === 0) await sleep(1)
  }
}

test('two stock clients typing concurrently converge, and REST reads the same text', async () => {
  const a = new PadClient(server.wsBase, pad.slug, alice.token)
  const b = new PadClient(server.wsBase, pad.slug, bob.token)
  await Promise.all([a.ready(), b.ready()])
  const starter = a.text(file.id)
  assert.equal(b.text(file.id), starter)

  await Promise.all([typeInto(a, file.id, 'alice', 150, 7), typeInto(b, file.id, 'BOB', 150, 11)])
  await until(() => a.text(file.id) === b.text(file.id) && a.text(file.id).length === starter.length + 300,
    10000, 'both clients to converge')
  const converged = a.text(file.id)
  for (const c of 'alice') assert.ok(converged.includes(c))
  for (const c of 'BOB') assert.ok(converged.includes(c))

  await until(async () => {
    const res = await api(server.base, 'GET', `/api/pads/${pad.slug}/files/${file.id}`, alice.token)
    return res.content === converged
  }, 5000, 'the REST view to match')

  // A third client joining later gets the full state.
  const c = new PadClient(server.wsBase, pad.slug, bob.token)
  await c.ready()
  assert.equal(c.text(file.id), converged)
  assert.equal(a.denied.length + b.denied.length + c.denied.length, 0)
  a.close(); b.close(); c.close()
})

test('awareness from A appears at B stamped with A\'s real name', async () => {
  const a = new PadClient(server.wsBase, pad.slug, alice.token)
  const b = new PadClient(server.wsBase, pad.slug, bob.token)
  await Promise.all([a.ready(), b.ready()])
  // A claims to be Bob.
  a.awareness.setLocalState({ user: { name: 'Bob', color: '#000000' }, cursor: { anchor: 3, head: 5 } })
  await until(() => b.awareness.getStates().has(a.doc.clientID), 5000, 'A\'s awareness at B')
  const seen = b.awareness.getStates().get(a.doc.clientID)
  assert.equal(seen.user.name, 'Alice')
  assert.equal(seen.user.id, alice.id)
  assert.notEqual(seen.user.color, '#000000')
  assert.deepEqual(seen.cursor, { anchor: 3, head: 5 })

  // App messages ride on the same socket: presence lists both users.
  await until(() => b.apps.some((m) => m.type === 'presence' && m.users.length === 2), 5000, 'presence')

  // Leaving removes A's state at B.
  a.close()
  await until(() => !b.awareness.getStates().has(a.doc.clientID), 5000, 'A\'s awareness removal')
  b.close()
})

test('a viewer\'s edit is refused with a permission-denied message and an app error', async () => {
  const viewer = await signup(server.base, 'Vic')
  const { invite } = await api(server.base, 'POST', `/api/pads/${pad.slug}/invites`, alice.token, { role: 'viewer' })
  await api(server.base, 'POST', `/api/invites/${invite.token}/accept`, viewer.token, {})
  const v = new PadClient(server.wsBase, pad.slug, viewer.token)
  await v.ready()
  const before = (await api(server.base, 'GET', `/api/pads/${pad.slug}/files/${file.id}`, alice.token)).content
  v.doc.getText(`file:${file.id}`).insert(0, 'nope')
  await until(() => v.denied.length > 0 && v.apps.some((m) => m.type === 'error' && m.code === 'read_only'), 5000, 'refusal')
  await sleep(150)
  const afterText = (await api(server.base, 'GET', `/api/pads/${pad.slug}/files/${file.id}`, alice.token)).content
  assert.equal(afterText, before)
  assert.equal(v.closed, null)
  v.close()
})
