// The steps the deploy smoke checks share (smoke.mjs for the cluster, single.mjs for one node).

import assert from 'node:assert/strict'

import { api, signup, until } from '../interop/support.mjs'

export const ws = (base) => base.replace(/^http/, 'ws')
// Generous: a loaded 2-core CI machine, a cold sandbox.
export const DEADLINE = 30000

/** Runs `body`, then logs `what` with how long it took. */
export async function step (what, body) {
  const start = Date.now()
  await body()
  console.log(`deploy smoke: ${what} (${Date.now() - start} ms)`)
}

/** Polls `base`/readyz until it answers 200 (the server started and its dependencies answer). */
export async function ready (base, what) {
  await until(async () => {
    try { return (await fetch(`${base}/readyz`)).status === 200 } catch { return false }
  }, 120000, `/readyz ${what} at ${base}`)
}

/** Alice and Bob sign up through `base`; Alice creates a Python pad and invites Bob to edit it. */
export async function padForTwo (base) {
  const alice = await signup(base, 'Alice')
  const bob = await signup(base, 'Bob')
  const created = await api(base, 'POST', '/api/pads', alice.token, { title: 'deploy smoke', language: 'python' })
  const { invite } = await api(base, 'POST', `/api/pads/${created.pad.slug}/invites`, alice.token, { role: 'collaborator' })
  await api(base, 'POST', `/api/invites/${invite.token}/accept`, bob.token, {})
  return { alice, bob, pad: created.pad, file: created.files[0] }
}

/**
 * Runs the pad's code through `base` as `token`'s holder, waiting for the result: it exits 0 and
 * prints `stdout`; each named client in `watchers` sees the run finish in Docker with that output.
 */
export async function runSeenBy (base, token, slug, watchers, stdout) {
  const { run } = await api(base, 'POST', `/api/pads/${slug}/runs?wait=1`, token, {})
  assert.equal(run.exitCode, 0, JSON.stringify(run))
  assert.equal(run.stdout, stdout, JSON.stringify(run))
  for (const [name, client] of watchers) {
    await until(() => client.apps.some((m) => m.type === 'run.finished' && m.runId === run.runId),
      DEADLINE, `run.finished on ${name}`)
    const finished = client.apps.find((m) => m.type === 'run.finished' && m.runId === run.runId)
    assert.equal(finished.backend, 'docker', `${name}: ${JSON.stringify(finished)}`)
    const seen = client.apps.filter((m) => m.type === 'run.output' && m.runId === run.runId && m.stream === 'stdout')
      .map((m) => m.data).join('')
    assert.equal(seen, stdout, `${name} saw the output`)
  }
}
