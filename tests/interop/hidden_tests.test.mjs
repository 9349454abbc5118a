// Hidden test cases (issue 13 §7) seen from stock Yjs clients: a question with visible and hidden
// cases of both kinds (stdin/stdout and function calls), each hidden field a unique sentinel, an
// interview and a take-home started from it. While the candidates run the visible cases, the
// interviewer runs all of them and the take-home's submission is graded, the candidates keep
// every frame of their pad sockets, their Y.Doc, and every GET of the API description fetched
// with their token; no sentinel is in any of it. The interviewer sees each one (the control that
// lets this test fail). Real sandbox runs: Docker and the runner image are required.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'

import {
  PadClient, admittedInterview, api, docContents, everyGet, holds, request, signup, startServer, until
} from './support.mjs'

// Every hidden field a candidate must never see, each unique in the whole exchange. The program
// upper-cases what it gets, so each expected value is its input upper-cased (the search is case
// sensitive).
const HIDDEN = {
  stdinName: 'hidden-name-stdin-q7w2',
  stdin: 'hidden-stdin-z8k4',
  stdinExpected: 'HIDDEN-STDIN-Z8K4',
  callName: 'hidden-name-call-m3p9',
  args: 'hidden-call-arg-v5r1',
  callExpected: 'HIDDEN-CALL-ARG-V5R1'
}
const SENTINELS = Object.values(HIDDEN)
// What a result of the hidden cases shows: their names, the stdin case's output, the call's value.
const REPORTED = [HIDDEN.stdinName, HIDDEN.stdinExpected, HIDDEN.callName, HIDDEN.callExpected].sort()
const VISIBLE_NAMES = ['visible-stdin-case', 'visible-call-case']

const QUESTION = {
  title: 'Shout',
  prompt: 'Upper-case the input.',
  difficulty: 'easy',
  tags: [],
  languages: [{ language: 'python', files: [] }],
  guidance: 'one line',
  signature: { function: 'shout', params: ['s'] },
  tests: [
    { name: VISIBLE_NAMES[0], stdin: 'abc\n', expected: 'ABC\n' },
    { name: VISIBLE_NAMES[1], kind: 'function', args: '["xy"]', expected: '"XY"' },
    { name: HIDDEN.stdinName, stdin: `${HIDDEN.stdin}\n`, expected: `${HIDDEN.stdinExpected}\n`, hidden: true, compare: 'exact' },
    { name: HIDDEN.callName, kind: 'function', args: `["${HIDDEN.args}"]`, expected: `"${HIDDEN.callExpected}"`, hidden: true }
  ]
}
// Passes every case: stdin when run, `shout(s)` when a harness loads it.
const SOLUTION = 'import sys\n\ndef shout(s):\n    return s.upper()\n\nif __name__ == "__main__":\n    print(shout(sys.stdin.read().strip()))\n'

let server
let ada // the question's owner: interviewer on both pads
let cam // the interview's candidate
let dee // the take-home's candidate
let questionId
// Every socket opened, closed at the end even when an assertion failed.
const clients = []

/** A stock Yjs client on the pad socket as `user`, presence set, synced. */
async function connect (slug, user) {
  const client = new PadClient(server.wsBase, slug, user.token)
  clients.push(client)
  client.awareness.setLocalState({ cursor: 0 })
  await client.ready()
  return client
}

before(async () => {
  server = await startServer()
  const health = await api(server.base, 'GET', '/api/health')
  assert.equal(health.exec?.backend, 'docker',
    'these tests need Docker and the runner image (scripts/ensure-docker.sh, scripts/build-runner-image.sh)')
  ;[ada, cam, dee] = await Promise.all(['Ada', 'Cam', 'Dee'].map((name) => signup(server.base, name)))
  questionId = (await api(server.base, 'POST', '/api/questions', ada.token, QUESTION)).id
})

after(async () => {
  for (const client of clients) client.close()
  await server?.stop()
})

/** The sentinels `text` holds. */
function sentinelsIn (text) {
  return SENTINELS.filter((s) => text.includes(s))
}

/** The candidate replaces the file's text with the solution over Yjs; waits until the server has it. */
async function writeSolution (client, slug, fileId, token) {
  const text = client.doc.getText(`file:${fileId}`)
  client.doc.transact(() => {
    text.delete(0, text.length)
    text.insert(0, SOLUTION)
  })
  await until(async () => {
    const file = await api(server.base, 'GET', `/api/pads/${slug}/files/${fileId}`, token)
    return file.content === SOLUTION
  }, 10000, 'the solution to reach the server')
}

/**
 * Every GET of the API as `user`, the pad's path parameters filled in: its files and recordings
 * (listed by the interviewer), the question, and the links' tokens. One text of all statuses and
 * bodies, refusals included: a refusal's body is seen too.
 */
async function everythingFetched (user, slug, tokens) {
  const files = (await api(server.base, 'GET', `/api/pads/${slug}/files`, ada.token)).files.map((f) => f.id)
  const recordings = (await api(server.base, 'GET', `/api/pads/${slug}/recordings`, ada.token)).recordings.map((r) => r.id)
  const answers = await everyGet(server.base, user.token, (template) => ({
    slug: [slug],
    fileId: files,
    id: template.startsWith('/api/questions/') ? [questionId] : recordings,
    token: template.startsWith('/api/invites/') ? tokens.invite : tokens.takehome
  }))
  return answers.map((a) => `\n${a.path} ${a.status} ${a.text}`).join('')
}

/** The pad's own answers (and `more`) the candidate must get, so the search covers them: 200 each. */
function assertCandidateReads (fetched, slug, fileId, more = []) {
  for (const path of ['', '/files', `/files/${fileId}`, '/tests', '/interview', '/runs/last', ...more]) {
    assert.ok(fetched.includes(`\n/api/pads/${slug}${path} 200 `), `the candidate reads ${path || 'the pad'}`)
  }
}

/** What a candidate's pad socket and document hold, and what they fetched or were answered over REST. */
function assertNothingHidden (client, fetched) {
  assert.deepEqual(SENTINELS.filter((s) => holds(client.frames, s)), [], 'a frame on the candidate socket holds a hidden case')
  const contents = docContents(client.doc)
  assert.ok(contents.includes('def shout(s):'), "the document searched holds the candidate's code")
  assert.deepEqual(sentinelsIn(contents), [], "the candidate's document holds a hidden case")
  assert.deepEqual(sentinelsIn(fetched), [], 'a REST answer to the candidate holds a hidden case')
}

test('interview: the candidate runs the visible cases and the interviewer all; no hidden case reaches the candidate', async () => {
  const started = await admittedInterview(server.base, ada, cam, questionId)
  const slug = started.pad.slug
  const fileId = started.files[0].id
  const [candidate] = await Promise.all([connect(slug, cam), connect(slug, ada)])
  await writeSolution(candidate, slug, fileId, cam.token)

  const listed = await api(server.base, 'GET', `/api/pads/${slug}/tests`, cam.token)
  assert.deepEqual(listed.tests.map((t) => t.name), VISIBLE_NAMES)
  const refused = await request(server.base, 'POST', `/api/pads/${slug}/tests/run`, cam.token, { hidden: true })
  assert.equal(refused.status, 403, refused.text)
  const own = await api(server.base, 'POST', `/api/pads/${slug}/tests/run`, cam.token, {})
  assert.deepEqual(own.results.map((r) => [r.name, r.passed]), VISIBLE_NAMES.map((n) => [n, true]))

  const all = await api(server.base, 'POST', `/api/pads/${slug}/tests/run`, ada.token, { hidden: true })
  assert.deepEqual(all.results.map((r) => [r.name, r.passed]),
    [...VISIBLE_NAMES, HIDDEN.stdinName, HIDDEN.callName].map((n) => [n, true]), JSON.stringify(all))
  // Both runs reach the candidate's socket, each with the visible results only.
  const finished = () => candidate.apps.filter((m) => m.type === 'tests.finished')
  await until(() => finished().length === 2, 10000, 'both runs to reach the candidate')
  assert.deepEqual(finished().map((m) => m.results.map((r) => r.name)), [VISIBLE_NAMES, VISIBLE_NAMES])
  assert.ok(holds(candidate.frames, VISIBLE_NAMES[1]), 'the frames searched hold what the candidate may see')

  // A fork would carry no cases, and a candidate may not fork at all.
  const fork = await request(server.base, 'POST', `/api/pads/${slug}/fork`, cam.token, {})
  assert.equal(fork.status, 403, fork.text)
  const tokens = { invite: [started.inviteToken], takehome: [] }
  const fetched = await everythingFetched(cam, slug, tokens) + refused.text + fork.text + JSON.stringify(own)
  assertCandidateReads(fetched, slug, fileId)
  // Ask for everyone's presence once more: the frames now include the interviewer's.
  candidate.send(Uint8Array.of(3))
  await until(() => candidate.awareness.getStates().size >= 2, 5000, "the interviewer's presence")
  assertNothingHidden(candidate, fetched)

  // The control: the interviewer's run and REST answers hold every sentinel.
  assert.deepEqual(sentinelsIn(JSON.stringify(all)).sort(), REPORTED,
    "the interviewer's run reports the hidden cases by name, with their output and returned value")
  assert.deepEqual(sentinelsIn(await everythingFetched(ada, slug, tokens)).sort(), [...SENTINELS].sort())
})

test('take-home: the candidate runs the visible cases and submits; grading runs the hidden ones out of their sight', async () => {
  const created = await api(server.base, 'POST', `/api/questions/${questionId}/takehomes`, ada.token,
    { closesAtMs: Date.now() + 3_600_000, timeLimitMs: 3_600_000 })
  const token = created.url.split('/').pop()
  const { slug } = await api(server.base, 'POST', `/api/takehome-links/${token}/start`, dee.token, {})
  const fileId = (await api(server.base, 'GET', `/api/pads/${slug}/files`, dee.token)).files[0].id
  const [candidate] = await Promise.all([connect(slug, dee), connect(slug, ada)])
  await writeSolution(candidate, slug, fileId, dee.token)

  const own = await api(server.base, 'POST', `/api/pads/${slug}/tests/run`, dee.token, {})
  assert.deepEqual(own.results.map((r) => [r.name, r.passed]), VISIBLE_NAMES.map((n) => [n, true]))
  const submitted = await api(server.base, 'POST', `/api/pads/${slug}/takehome/submit`, dee.token, {})
  let graded
  await until(async () => {
    graded = await api(server.base, 'GET', `/api/pads/${slug}/takehome`, ada.token)
    return Number.isInteger(graded.gradedAtMs)
  }, 20000, 'the submission to be graded')
  assert.deepEqual(graded.grading.results.map((r) => [r.name, r.passed]),
    [...VISIBLE_NAMES, HIDDEN.stdinName, HIDDEN.callName].map((n) => [n, true]), JSON.stringify(graded))
  await until(() => candidate.apps.some((m) => m.type === 'tests.finished'), 10000, 'the run to reach the candidate')

  const tokens = { invite: [], takehome: [token] }
  const fetched = await everythingFetched(dee, slug, tokens) + JSON.stringify([own, submitted])
  assertCandidateReads(fetched, slug, fileId, ['/takehome'])
  assertNothingHidden(candidate, fetched)

  assert.deepEqual(sentinelsIn(JSON.stringify(graded)).sort(), REPORTED, 'the interviewer sees the graded hidden cases')
  assert.deepEqual(sentinelsIn(await everythingFetched(ada, slug, tokens)).sort(), [...SENTINELS].sort())
})
