// The smoke check of the deployed cluster (tests/deploy/cluster.sh brings it up): through the
// proxy, sign up two people and open a pad; co-edit it with one stock Yjs client on each node
// (connected to the nodes' own ports) and a third through the proxy; run the pad's code through
// the proxy and see its output reach the clients on both nodes.
//
//   node tests/deploy/smoke.mjs <proxy base URL> <node1 base URL> <node2 base URL>

import assert from 'node:assert/strict'

import { PadClient, api, signup, until } from '../interop/support.mjs'

const [proxy, node1, node2] = process.argv.slice(2)
if (!proxy || !node1 || !node2) {
  console.error('usage: node smoke.mjs <proxy URL> <node1 URL> <node2 URL>')
  process.exit(2)
}
const ws = (base) => base.replace(/^http/, 'ws')
// Generous: a loaded 2-core CI machine, a cold sandbox.
const DEADLINE = 30000

async function step (what, body) {
  const start = Date.now()
  await body()
  console.log(`deploy smoke: ${what} (${Date.now() - start} ms)`)
}

await step('the proxy answered /readyz with 200', async () => {
  await until(async () => {
    try { return (await fetch(`${proxy}/readyz`)).status === 200 } catch { return false }
  }, 120000, `/readyz through the proxy at ${proxy}`)
})

let alice, bob, pad, file
await step('signed up and created a pad through the proxy', async () => {
  alice = await signup(proxy, 'Alice')
  bob = await signup(proxy, 'Bob')
  const created = await api(proxy, 'POST', '/api/pads', alice.token, { title: 'deploy smoke', language: 'python' })
  pad = created.pad
  file = created.files[0]
  const { invite } = await api(proxy, 'POST', `/api/pads/${pad.slug}/invites`, alice.token, { role: 'collaborator' })
  await api(proxy, 'POST', `/api/invites/${invite.token}/accept`, bob.token, {})
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
    const { run } = await api(proxy, 'POST', `/api/pads/${pad.slug}/runs?wait=1`, bob.token, {})
    assert.equal(run.exitCode, 0, JSON.stringify(run))
    assert.equal(run.stdout, 'hello from node1\n42\n', JSON.stringify(run))
    for (const [name, client] of [['node1', a], ['node2', b]]) {
      await until(() => client.apps.some((m) => m.type === 'run.finished' && m.runId === run.runId),
        DEADLINE, `run.finished on ${name}`)
      const finished = client.apps.find((m) => m.type === 'run.finished' && m.runId === run.runId)
      assert.equal(finished.backend, 'docker', `${name}: ${JSON.stringify(finished)}`)
      const stdout = client.apps.filter((m) => m.type === 'run.output' && m.runId === run.runId && m.stream === 'stdout')
        .map((m) => m.data).join('')
      assert.equal(stdout, 'hello from node1\n42\n', `${name} saw the output`)
    }
  })
  for (const x of clients) assert.deepEqual(x.denied, [])
} finally {
  for (const x of clients) x.close()
}
console.log('deploy smoke: passed')
