// The smoke check of the deployed cluster (tests/deploy/cluster.sh brings it up): through the
// proxy, sign up two people and open a pad; co-edit it with one stock Yjs client on each node
// (connected to the nodes' own ports) and a third through the proxy; run the pad's code through
// the proxy and see its output reach the clients on both nodes.
//
//   node tests/deploy/smoke.mjs <proxy base URL> <node1 base URL> <node2 base URL>

import assert from 'node:assert/strict'

import { PadClient, api, until } from '../interop/support.mjs'
import { DEADLINE, padForTwo, ready, runSeenBy, step, ws } from './steps.mjs'

const [proxy, node1, node2] = process.argv.slice(2)
if (!proxy || !node1 || !node2) {
  console.error('usage: node smoke.mjs <proxy URL> <node1 URL> <node2 URL>')
  process.exit(2)
}

await step('the proxy answered /readyz with 200', () => ready(proxy, 'through the proxy'))

let alice, bob, pad, file
await step('signed up and created a pad through the proxy', async () => {
  ;({ alice, bob, pad, file } = await padForTwo(proxy))
})
// cluster.sh reads it to check the proxy's pad affinity in its log.
console.log(`deploy smoke: pad ${pad.slug}`)

// a and b are pinned to the nodes' own published ports (two containers); c goes where the proxy's
// pad affinity sends it.
const a = new PadClient(ws(node1), pad.slug, alice.token)
const b = new PadClient(ws(node2), pad.slug, bob.token)
const c = new PadClient(ws(proxy), pad.slug, alice.token)
const clients = [a, b, c]
try {
  await step('three clients synced (node1, node2, the proxy)', async () => {
    await Promise.all(clients.map((x) => x.ready()))
  })

  const code = 'print("hello from node1")\nprint(6 * 7)\n'
  await step('an edit on node1 reached node2 and the proxy client', async () => {
    const text = a.doc.getText(`file:${file.id}`)
    a.doc.transact(() => {
      text.delete(0, text.length)
      text.insert(0, 'print("hello from node1")\n')
    })
    await until(() => b.text(file.id) === 'print("hello from node1")\n' && c.text(file.id) === b.text(file.id),
      DEADLINE, 'node1\'s edit on node2 and through the proxy')
  })
  await step('an edit on node2 reached node1 and the proxy client', async () => {
    const text = b.doc.getText(`file:${file.id}`)
    text.insert(text.length, 'print(6 * 7)\n')
    await until(() => a.text(file.id) === code && c.text(file.id) === code, DEADLINE,
      'node2\'s edit on node1 and through the proxy')
  })

  await step('a run through the proxy printed the co-edited code\'s output, seen on both nodes', async () => {
    // The run reads the pad's files on whichever node the proxy picked: wait until REST there
    // shows the converged text (it does as soon as that node applied both edits).
    await until(async () => (await api(proxy, 'GET', `/api/pads/${pad.slug}/files/${file.id}`, alice.token)).content === code,
      DEADLINE, 'the converged text through the proxy')
    await runSeenBy(proxy, bob.token, pad.slug, [['node1', a], ['node2', b]], 'hello from node1\n42\n')
  })
  for (const x of clients) assert.deepEqual(x.denied, [])
} finally {
  for (const x of clients) x.close()
}
console.log('deploy smoke: passed')
