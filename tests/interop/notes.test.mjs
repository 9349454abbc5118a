// Private interviewer notes (issue 13 §3) seen from a stock Yjs client: a candidate on the pad
// socket receives every frame of the pad — document and awareness — while an interviewer writes
// the notes and publishes presence in them, and no frame ever holds the notes. The candidate's
// own attempt to open the notes socket is refused before the upgrade.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'

import WebSocket from 'ws'

import { PadClient, admittedInterview, api, holds, signup, sleep, startServer, until } from './support.mjs'

const MARKER = 'INTEROP-NOTES-MARKER-a91e: strong on recursion'

let server
let ada
let cam
let slug
let file

before(async () => {
  server = await startServer()
  ada = await signup(server.base, 'Ada')
  cam = await signup(server.base, 'Cam')
  const question = await api(server.base, 'POST', '/api/questions', ada.token, {
    title: 'Interop', prompt: 'p', difficulty: 'easy', tags: [], languages: [{ language: 'python', files: [] }], guidance: ''
  })
  const started = await admittedInterview(server.base, ada, cam, question.id)
  slug = started.pad.slug
  file = started.files[0]
})

after(async () => {
  await server?.stop()
})

/** The HTTP status a socket upgrade is refused with (or 101 when it opens). */
function upgradeStatus (path, token) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${server.wsBase}${path}`, ['opencoder.v1', `oc.bearer.${token}`])
    ws.once('open', () => { ws.close(); resolve(101) })
    ws.once('unexpected-response', (_req, res) => { resolve(res.statusCode); ws.terminate() })
    ws.once('error', (err) => { if (err.message.includes('Unexpected server response')) return; reject(err) })
  })
}

test('a candidate on the pad socket never receives a frame holding the notes', async () => {
  const candidate = new PadClient(server.wsBase, slug, cam.token)
  candidate.awareness.setLocalState({ cursor: 0 })
  await candidate.ready()
  const interviewer = new PadClient(server.wsBase, slug, ada.token)
  const notes = new PadClient(server.wsBase, slug, ada.token, '/notes')
  const again = new PadClient(server.wsBase, slug, ada.token, '/notes')
  await Promise.all([interviewer.ready(), notes.ready(), again.ready()])
  await until(() => notes.apps.some((m) => m.type === 'notes.ready'), 5000, 'notes.ready')
  const root = notes.apps.find((m) => m.type === 'notes.ready').root

  notes.doc.getText(root).insert(0, MARKER)
  notes.awareness.setLocalState({ note: MARKER })
  await until(() => again.doc.getText(root).toString() === MARKER, 5000, 'the notes to reach the other notes socket')
  await until(() => [...again.awareness.getStates().values()].some((s) => s.note === MARKER), 5000, 'notes presence')

  interviewer.doc.getText(`file:${file.id}`).insert(0, '# on the pad\n')
  interviewer.awareness.setLocalState({ cursor: 1 })
  await until(() => candidate.text(file.id).startsWith('# on the pad\n'), 5000, 'the pad edit to reach the candidate')
  // Ask for everyone's presence once more and keep listening a while.
  candidate.send(Uint8Array.of(3))
  await sleep(1500)
  assert.ok(holds(candidate.frames, '# on the pad'), 'the candidate receives the pad')
  assert.ok(holds(candidate.frames, 'Ada'), "the candidate receives the interviewer's presence")
  assert.ok(!holds(candidate.frames, MARKER), 'no frame on the candidate socket holds the notes')
  assert.equal(candidate.doc.share.has(root), false, 'the notes root never appears in the pad document')
  assert.ok(!holds(interviewer.frames, MARKER), "the pad socket does not carry the notes to interviewers either")
  candidate.close(); interviewer.close(); notes.close(); again.close()
})

test('the candidate cannot open the notes socket; an interviewer can', async () => {
  assert.equal(await upgradeStatus(`/ws/pad/${slug}/notes`, cam.token), 403)
  assert.equal(await upgradeStatus(`/ws/pad/${slug}/notes`, ada.token), 101)
})
