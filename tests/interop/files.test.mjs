// Files in the document (SPEC §4) with stock Yjs clients: a file's text is the root `file:<id>`, so
// a rename is metadata only and nothing typed through it is lost; an update writing a root that is
// not a file of the pad is refused (close 1008) and not applied.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'

import { PadClient, api, sleep, twoPeoplePad, until } from './support.mjs'

let server
let alice
let bob
let pad
let file

before(async () => {
  ({ server, alice, bob, pad, file } = await twoPeoplePad('files'))
})

after(async () => {
  await server?.stop()
})

test('a stock client typing through renames loses no keystroke', async () => {
  const typist = new PadClient(server.wsBase, pad.slug, bob.token)
  await typist.ready()
  const ytext = typist.doc.getText(`file:${file.id}`)
  const starter = ytext.toString()
  const typed = []
  let renames = 0
  const typing = (async () => {
    for (let i = 0; i < 200; i++) {
      const ch = String.fromCharCode(97 + (i % 26))
      ytext.insert(ytext.length, ch)
      typed.push(ch)
      if (i % 5 === 0) await sleep(10)
    }
  })()
  const renaming = (async () => {
    for (let i = 0; i < 6; i++) {
      await sleep(40)
      await api(server.base, 'PATCH', `/api/pads/${pad.slug}/files/${file.id}`, alice.token, { name: `renamed_${i}.py` })
      renames += 1
    }
  })()
  await Promise.all([typing, renaming])
  assert.equal(renames, 6)
  const expected = starter + typed.join('')
  assert.equal(ytext.toString(), expected)
  await until(async () => {
    const res = await api(server.base, 'GET', `/api/pads/${pad.slug}/files/${file.id}`, alice.token)
    return res.content === expected && res.file.name === 'renamed_5.py'
  }, 5000, 'the server to hold every keystroke under the new name')
  assert.equal(typist.closed, null)
  // The file list on the socket carries the id ↔ name map.
  await until(() => typist.apps.some((m) => m.type === 'files.changed' &&
    m.files.some((f) => f.id === file.id && f.name === 'renamed_5.py')), 5000, 'files.changed with the id')
  typist.close()
})

test('a stock client writing a root that is not a file of the pad is closed 1008, nothing applied', async () => {
  const before = (await api(server.base, 'GET', `/api/pads/${pad.slug}/files/${file.id}`, alice.token)).content
  for (const root of ['file:nonexistent', 'file:999999', 'notes']) {
    const rogue = new PadClient(server.wsBase, pad.slug, bob.token)
    await rogue.ready()
    rogue.doc.getText(root).insert(0, 'smuggled')
    await until(() => rogue.closed !== null, 5000, `the socket writing ${root} to close`)
    assert.equal(rogue.closed.code, 1008, root)
    rogue.close()
    const fresh = new PadClient(server.wsBase, pad.slug, alice.token)
    await fresh.ready()
    assert.equal(fresh.doc.share.has(root) ? fresh.doc.getText(root).toString() : '', '', `${root} is not in the document`)
    assert.equal(fresh.text(file.id), before)
    fresh.close()
  }
})
