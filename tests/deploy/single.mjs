// The smoke check of the single-node deployment (tests/deploy/single.sh brings deploy/compose.yaml
// up), in two phases around a `down`/`up` of the service:
//
//   node tests/deploy/single.mjs before <base URL> <state file>
//     sign up two people, open a pad, see an edit of one stock Yjs client reach the other's, run
//     the pad's code and see its output reach both; write what `after` checks to the state file.
//   node tests/deploy/single.mjs after <base URL> <state file>
//     the pad, its members and the edited text are still there (the data volume kept them), and a
//     new Yjs client syncs that text.

import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'

import { PadClient, api, until } from '../interop/support.mjs'
import { DEADLINE, padForTwo, ready, runSeenBy, step, ws } from './steps.mjs'

const [phase, base, stateFile] = process.argv.slice(2)
if (!['before', 'after'].includes(phase) || !base || !stateFile) {
  console.error('usage: node single.mjs before|after <base URL> <state file>')
  process.exit(2)
}
const code = 'print("hello from the single node")\nprint(6 * 7)\n'

await step(`the node answered /readyz with 200 (${phase})`, () => ready(base, 'of the node'))

if (phase === 'before') {
  let alice, bob, pad, file
  await step('signed up and created a pad', async () => {
    ;({ alice, bob, pad, file } = await padForTwo(base))
  })
  const a = new PadClient(ws(base), pad.slug, alice.token)
  const b = new PadClient(ws(base), pad.slug, bob.token)
  try {
    await step('two clients synced', () => Promise.all([a.ready(), b.ready()]))
    await step('an edit of one client reached the other', async () => {
      const text = a.doc.getText(`file:${file.id}`)
      a.doc.transact(() => {
        text.delete(0, text.length)
        text.insert(0, code)
      })
      await until(() => b.text(file.id) === code, DEADLINE, 'the edit on the second client')
    })
    await step('a run printed the edited code\'s output, seen by both clients', async () => {
      await until(async () => (await api(base, 'GET', `/api/pads/${pad.slug}/files/${file.id}`, alice.token)).content === code,
        DEADLINE, 'the edited text through REST')
      await runSeenBy(base, bob.token, pad.slug, [['Alice', a], ['Bob', b]], 'hello from the single node\n42\n')
    })
    for (const x of [a, b]) assert.deepEqual(x.denied, [])
  } finally {
    a.close()
    b.close()
  }
  writeFileSync(stateFile, JSON.stringify({ slug: pad.slug, fileId: file.id, alice: alice.token, bob: bob.token }))
} else {
  const { slug, fileId, alice, bob } = JSON.parse(readFileSync(stateFile, 'utf8'))
  await step('the pad, its collaborator and its text outlived the container', async () => {
    const { content } = await api(base, 'GET', `/api/pads/${slug}/files/${fileId}`, alice)
    assert.equal(content, code, 'the text after down/up')
    const c = new PadClient(ws(base), slug, bob)
    try {
      await c.ready()
      assert.equal(c.text(fileId), code, 'the text a new client synced')
      assert.deepEqual(c.denied, [])
    } finally {
      c.close()
    }
  })
}
console.log(`deploy smoke: ${phase} passed`)
