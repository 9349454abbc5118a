// Stock Yjs clients on two nodes of one cluster (one PostgreSQL, one Redis, both throwaway): a
// pad's clients spread over the nodes converge, a late joiner on either node gets the whole
// state, awareness crosses with the real name stamped on it, and REST on either node reads the
// same text.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'

import { PadClient, api, signup, sleep, startPostgres, startRedis, startServer, until } from './support.mjs'

const SECRET = 'interop-cluster-secret-0123456789abcdef0123'
let postgres
let redis
let nodeA
let nodeB
let alice
let bob
let pad
let file

before(async () => {
  postgres = await startPostgres()
  redis = await startRedis()
  const env = { DATABASE_URL: postgres.url, REDIS_URL: redis.url, JWT_SECRET: SECRET }
  // One at a time: the first migrates the empty database.
  nodeA = await startServer(env)
  nodeB = await startServer(env)
  alice = await signup(nodeA.base, 'Alice')
  bob = await signup(nodeB.base, 'Bob')
  const created = await api(nodeA.base, 'POST', '/api/pads', alice.token, { title: 'cluster', language: 'python' })
  const { invite } = await api(nodeA.base, 'POST', `/api/pads/${created.pad.slug}/invites`, alice.token, { role: 'collaborator' })
  await api(nodeB.base, 'POST', `/api/invites/${invite.token}/accept`, bob.token, {})
  pad = created.pad
  file = created.files[0]
})

after(async () => {
  await nodeA?.stop()
  await nodeB?.stop()
  await redis?.stop()
  await postgres?.stop()
})

/** Type `count` characters one keystroke at a time at pseudo-random positions. */
async function typeInto (client, tag, count, seed) {
  const ytext = client.doc.getText(`file:${file.id}`)
  let x = seed
  for (let i = 0; i < count; i++) {
    x = (x * 1103515245 + 12345) % 2147483648
    ytext.insert(ytext.length === 0 ? 0 : x % (ytext.length + 1), tag[i % tag.length])
    if (i % 7 === 0) await sleep(1)
  }
}

test('clients on two nodes typing concurrently converge, on both nodes and for late joiners', async () => {
  const a = new PadClient(nodeA.wsBase, pad.slug, alice.token)
  const b = new PadClient(nodeB.wsBase, pad.slug, bob.token)
  await Promise.all([a.ready(), b.ready()])
  const starter = a.text(file.id)
  await until(() => b.text(file.id) === starter, 5000, 'the starter text on node B')

  await Promise.all([typeInto(a, 'alice', 150, 7), typeInto(b, 'BOB', 150, 11)])
  await until(() => a.text(file.id) === b.text(file.id) && a.text(file.id).length === starter.length + 300,
    15000, 'the clients on both nodes to converge')
  const converged = a.text(file.id)

  for (const node of [nodeA, nodeB]) {
    await until(async () => {
      const res = await api(node.base, 'GET', `/api/pads/${pad.slug}/files/${file.id}`, alice.token)
      return res.content === converged
    }, 5000, `the REST view of ${node.base} to match`)
    const late = new PadClient(node.wsBase, pad.slug, bob.token)
    await late.ready()
    assert.equal(late.text(file.id), converged)
    late.close()
  }
  assert.equal(a.denied.length + b.denied.length, 0)
  a.close(); b.close()
})

test('awareness set on one node reaches the other stamped with the real name', async () => {
  const a = new PadClient(nodeA.wsBase, pad.slug, alice.token)
  const b = new PadClient(nodeB.wsBase, pad.slug, bob.token)
  await Promise.all([a.ready(), b.ready()])
  a.awareness.setLocalState({ user: { name: 'Not Alice', color: '#000000' }, cursor: { anchor: 1, head: 2 } })
  await until(() => b.awareness.getStates().has(a.doc.clientID), 5000, 'A\'s awareness at B')
  const seen = b.awareness.getStates().get(a.doc.clientID)
  assert.equal(seen.user.name, 'Alice')
  assert.equal(seen.user.id, alice.id)
  assert.deepEqual(seen.cursor, { anchor: 1, head: 2 })
  // Presence lists both users, whichever node each is on.
  await until(() => b.apps.some((m) => m.type === 'presence' && m.users.length === 2), 5000, 'presence across nodes')
  a.close()
  await until(() => !b.awareness.getStates().has(a.doc.clientID), 5000, 'A\'s awareness removal at B')
  b.close()
})
