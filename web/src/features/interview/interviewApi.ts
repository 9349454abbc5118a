// The interview endpoints (server `interviews::routes`, OpenAPI tags `questions` and `interviews`).
import { client, type Member, type Pad, type PadFile, type Role } from '../../api';
import type { TimerView } from './timer';
import type { IntegrityTimeline } from './integrity';

const seg = (s: string | number) => encodeURIComponent(String(s));

export type Difficulty = 'easy' | 'medium' | 'hard';
export const DIFFICULTIES: Difficulty[] = ['easy', 'medium', 'hard'];

export interface Person {
  id: number;
  name: string;
}

export interface StarterFile {
  name: string;
  content: string;
}

export interface QuestionLanguage {
  language: string;
  files: StarterFile[];
}

export interface Question {
  id: number;
  owner: Person;
  mine: boolean;
  title: string;
  prompt: string;
  difficulty: Difficulty;
  tags: string[];
  languages: QuestionLanguage[];
  guidance: string;
  /** The scorecard template its interviews use; null: each interviewer's own. */
  scorecardTemplate: Section[] | null;
  /** The function candidates write; function cases call it. */
  signature: Signature | null;
  /** The question's languages with a harness (that run function cases). */
  functionLanguages: string[];
  /** Every case, hidden ones included (the question's people only). */
  tests: TestCase[];
  editors: Person[];
  createdAt: string;
  updatedAt: string;
}

export interface QuestionInput {
  title: string;
  prompt: string;
  difficulty: Difficulty;
  tags: string[];
  languages: QuestionLanguage[];
  guidance: string;
  scorecardTemplate: { sections: Section[] } | null;
  signature: Signature | null;
  tests: TestCase[];
}

/** A question's function signature (server `interviews::test_cases::signature`). */
export interface Signature {
  function: string;
  params: string[];
}

/** How a case's output is compared (server `interviews::test_cases`). */
export type Compare = 'exact' | 'trimmed' | 'lines';
export const COMPARES: { value: Compare; label: string }[] = [
  { value: 'trimmed', label: 'trimmed: trailing spaces and final newlines ignored' },
  { value: 'exact', label: 'exact: byte for byte' },
  { value: 'lines', label: 'lines: each line trimmed, blank lines ignored' },
];

/** `stdin`: stdin in, stdout compared as text; `function`: JSON arguments in, the returned value
 * compared as JSON (server `interviews::test_cases::harness`). */
export type CaseKind = 'stdin' | 'function';

export interface TestCase {
  name: string;
  kind?: CaseKind;
  stdin: string;
  /** Function cases: the arguments, JSON text of an array. */
  args?: string;
  /** stdout, or for a function case the JSON text of the value it must return. */
  expected: string;
  hidden: boolean;
  compare: Compare;
}

/** A case with its place in the question's list. */
export interface NumberedCase extends TestCase {
  index: number;
}

export interface CaseResult {
  index: number;
  name: string;
  hidden: boolean;
  passed: boolean;
  outcome: string;
  actual: string;
  stderr: string;
  durationMs: number;
  /** Function cases: what the function returned (canonical JSON). */
  returned?: string;
  /** Function cases: what it raised, or why no value came back. */
  error?: string;
}

export interface TestRun {
  results: CaseResult[];
  passed: number;
  total: number;
}

export interface Attempt {
  slug: string;
  language: string;
  startedAtMs: number;
  deadlineMs: number;
  submittedAtMs: number | null;
  submittedBy: 'candidate' | 'deadline' | null;
  gradedAtMs: number | null;
  nowMs: number;
}

export interface Grading {
  timeTakenMs: number | null;
  passed: number;
  total: number;
  results: CaseResult[];
}

/** The pad's take-home; `grading` for interviewers only. */
export interface PadTakehome extends Attempt {
  grading?: Grading | null;
}

export interface Takehome {
  id: number;
  questionId: number;
  languages: string[];
  opensAtMs: number;
  closesAtMs: number;
  timeLimitMs: number;
  createdAt: string;
  attempt?: Attempt;
}

export interface LinkPreview {
  title: string;
  difficulty: Difficulty;
  languages: string[];
  opensAtMs: number;
  closesAtMs: number;
  timeLimitMs: number;
  status: 'not_open' | 'open' | 'closed' | 'started' | 'submitted' | 'used';
  slug?: string;
  nowMs: number;
}

export interface QuestionSummary {
  id: number;
  owner: Person;
  mine: boolean;
  title: string;
  difficulty: Difficulty;
  tags: string[];
  languages: string[];
  updatedAt: string;
}

export interface QuestionFilter {
  q?: string;
  tag?: string;
  language?: string;
  difficulty?: string;
  before?: number;
}

export interface Admission {
  userId: number;
  name: string;
  status: 'waiting' | 'refused';
  requestedAt: string;
}

export interface Interview {
  title: string;
  prompt: string | null;
  promptHidden: boolean;
  language: string;
  locked: boolean;
  runDisabled: boolean;
  terminalDisabled: boolean;
  timer: TimerView | null;
  endedAtMs: number | null;
  nowMs: number;
  guidance?: string;
  questionId?: number | null;
  waiting?: Admission[];
}

export interface SwitchesPatch {
  locked?: boolean;
  runDisabled?: boolean;
  terminalDisabled?: boolean;
  promptHidden?: boolean;
  timer?: { mode: 'off' | 'elapsed' | 'countdown'; durationMs?: number };
}

export interface Started {
  pad: Pad;
  files: PadFile[];
  myRole: Role;
  interview: Interview;
  members?: Member[];
}

export type Recommendation = 'strongNo' | 'no' | 'yes' | 'strongYes';
export const RECOMMENDATIONS: { value: Recommendation; label: string }[] = [
  { value: 'strongNo', label: 'Strong no' },
  { value: 'no', label: 'No' },
  { value: 'yes', label: 'Yes' },
  { value: 'strongYes', label: 'Strong yes' },
];

export interface Criterion {
  name: string;
  /** One description per rating level, level 1 first. */
  levels: string[];
  rating: number | null;
}

export interface Section {
  title: string;
  criteria: Criterion[];
}

export interface ScorecardInput {
  sections: Section[];
  notes: string;
  recommendation: Recommendation | null;
}

export interface Scorecard extends ScorecardInput {
  userId: number;
  name: string;
  updatedAtMs: number;
  submittedAtMs: number | null;
}

export interface Scorecards {
  mine: Scorecard | null;
  /** The others' submitted scorecards: empty until mine is submitted (the server enforces it). */
  others: Scorecard[];
  othersSubmitted: number;
  /** What a new scorecard of mine starts from (my template). */
  template: Section[];
}

/** The debrief (server `interviews::summary`); scorecards as `Scorecards` shows them to me. */
export interface InterviewSummary {
  slug: string;
  title: string;
  language: string;
  endedAtMs: number | null;
  scorecards: Scorecards;
  files: { name: string; language: string; content: string }[];
  runs: {
    runId: string;
    kind: string;
    userName: string | null;
    entry: string;
    startedAtMs: number;
    finishedAtMs: number;
    exitCode: number | null;
    outcome: string;
  }[];
  recordings: { id: number; name: string; startedAtMs: number; endedAtMs: number | null; playbackPath: string }[];
  /** The graded take-home, when the pad is one. */
  takehome: Grading | null;
  /** The candidate client's pastes, large insertions and focus changes (interviewers only). */
  integrity: IntegrityTimeline;
}

/** The filter as query parameters, leaving out empty ones. */
function query(filter: QuestionFilter): Record<string, string | number | undefined> {
  return Object.fromEntries(Object.entries(filter).map(([key, value]) => [key, value === '' ? undefined : value]));
}

export const questionsApi = {
  list: (filter: QuestionFilter) =>
    client.request<{ questions: QuestionSummary[]; nextBefore?: number }>('GET', '/api/questions', { query: query(filter) }),
  get: (id: number) => client.request<Question>('GET', `/api/questions/${seg(id)}`),
  create: (body: QuestionInput) => client.request<Question>('POST', '/api/questions', { body }),
  update: (id: number, body: QuestionInput) => client.request<Question>('PUT', `/api/questions/${seg(id)}`, { body }),
  remove: (id: number) => client.request<unknown>('DELETE', `/api/questions/${seg(id)}`),
  share: (id: number, userId: number) => client.request<Question>('PUT', `/api/questions/${seg(id)}/editors/${seg(userId)}`),
  unshare: (id: number, userId: number) =>
    client.request<unknown>('DELETE', `/api/questions/${seg(id)}/editors/${seg(userId)}`),
  start: (id: number, body: { language?: string; title?: string }) =>
    client.request<Started>('POST', `/api/questions/${seg(id)}/interviews`, { body }),
  takehomes: (id: number) => client.request<{ takehomes: Takehome[] }>('GET', `/api/questions/${seg(id)}/takehomes`),
  createTakehome: (id: number, body: { opensAtMs?: number; closesAtMs: number; timeLimitMs: number; languages?: string[] }) =>
    client.request<{ takehome: Takehome; url: string }>('POST', `/api/questions/${seg(id)}/takehomes`, { body }),
};

/** Test cases and take-homes on a pad, and take-home links (the token travels in the path only). */
export const takehomeApi = {
  tests: (slug: string) => client.request<{ tests: NumberedCase[] }>('GET', `/api/pads/${seg(slug)}/tests`),
  runTests: (slug: string, hidden: boolean) =>
    client.request<TestRun>('POST', `/api/pads/${seg(slug)}/tests/run`, { body: { hidden } }),
  padTakehome: (slug: string) => client.request<PadTakehome>('GET', `/api/pads/${seg(slug)}/takehome`),
  submit: (slug: string) => client.request<Attempt>('POST', `/api/pads/${seg(slug)}/takehome/submit`),
  preview: (token: string) => client.request<LinkPreview>('GET', `/api/takehome-links/${seg(token)}`),
  start: (token: string, language?: string) =>
    client.request<Attempt>('POST', `/api/takehome-links/${seg(token)}/start`, { body: { language } }),
};

export const interviewApi = {
  get: (slug: string) => client.request<Interview>('GET', `/api/pads/${seg(slug)}/interview`),
  change: (slug: string, body: SwitchesPatch) =>
    client.request<Interview>('PATCH', `/api/pads/${seg(slug)}/interview`, { body }),
  end: (slug: string) => client.request<Interview>('POST', `/api/pads/${seg(slug)}/interview/end`),
  knock: (slug: string) =>
    client.request<{ status: 'waiting' | 'admitted' | 'refused'; title: string }>(
      'POST',
      `/api/pads/${seg(slug)}/interview/knock`,
    ),
  decide: (slug: string, userId: number, admit: boolean) =>
    client.request<unknown>('POST', `/api/pads/${seg(slug)}/interview/admissions/${seg(userId)}`, { body: { admit } }),
  scorecards: (slug: string) => client.request<Scorecards>('GET', `/api/pads/${seg(slug)}/interview/scorecards`),
  saveScorecard: (slug: string, body: ScorecardInput) =>
    client.request<Scorecards>('PUT', `/api/pads/${seg(slug)}/interview/scorecards/mine`, { body }),
  submitScorecard: (slug: string, body: ScorecardInput) =>
    client.request<Scorecards>('POST', `/api/pads/${seg(slug)}/interview/scorecards/mine/submit`, { body }),
  template: () => client.request<{ sections: Section[]; custom: boolean }>('GET', '/api/scorecard-template'),
  setTemplate: (body: { sections: Section[] }) =>
    client.request<{ sections: Section[]; custom: boolean }>('PUT', '/api/scorecard-template', { body }),
  summary: (slug: string) => client.request<InterviewSummary>('GET', `/api/pads/${seg(slug)}/interview/summary`),
  summaryMarkdown: (slug: string) => client.download(`/api/pads/${seg(slug)}/interview/summary/markdown`),
  integrity: (slug: string) => client.request<IntegrityTimeline>('GET', `/api/pads/${seg(slug)}/interview/integrity`),
};

/** What the switches take from this role right now (interviewers are never held). */
export function heldBy(interview: Interview | null, role: Role | null | undefined) {
  const held = !!interview && role === 'candidate';
  const ended = !!interview?.endedAtMs;
  return {
    edit: held && (interview!.locked || ended),
    run: held && (interview!.runDisabled || ended),
    terminal: held && (interview!.terminalDisabled || ended),
  };
}

/** Parse "a, b  c" into distinct lowercase tags. */
export function parseTags(text: string): string[] {
  const tags = text
    .split(/[\s,]+/)
    .map((t) => t.trim().toLowerCase())
    .filter(Boolean);
  return [...new Set(tags)];
}
