// The question bank: search and filter your questions (and those shared with you), write and edit
// them, share them with co-editors, and start an interview from one.
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router-dom';
import { describeError } from '../../api';
import { AppHeader } from '../../ui/Header';
import { ErrorMessage, Spinner } from '../../ui/common';
import { toast } from '../../ui/toast';
import { useLanguages } from '../pad/useLanguages';
import {
  DIFFICULTIES,
  parseTags,
  interviewApi,
  questionsApi,
  type Difficulty,
  type Question,
  type QuestionFilter,
  type QuestionInput,
  type QuestionSummary,
  type Section,
  type TestCase,
} from './interviewApi';
import { fromSignature, harnessLanguages, toSignature, withoutHarness, type SignatureDraft } from './functionTests';
import TakehomeCreate from './TakehomeCreate';
import TestCasesEditor from './TestCasesEditor';
import './interview.css';

/** The editor's working copy: one starter file per language (the API takes more). */
interface Draft {
  title: string;
  prompt: string;
  difficulty: Difficulty;
  tags: string;
  guidance: string;
  starters: { language: string; name: string; content: string }[];
  /** Kept as it is unless the form replaces or clears it. */
  scorecardTemplate: Section[] | null;
  signature: SignatureDraft;
  tests: TestCase[];
}

const EMPTY: Draft = {
  title: '',
  prompt: '',
  difficulty: 'medium',
  tags: '',
  guidance: '',
  starters: [],
  scorecardTemplate: null,
  signature: fromSignature(null),
  tests: [],
};

function toDraft(q: Question): Draft {
  return {
    title: q.title,
    prompt: q.prompt,
    difficulty: q.difficulty,
    tags: q.tags.join(', '),
    guidance: q.guidance,
    starters: q.languages.map((l) => ({ language: l.language, name: l.files[0]?.name ?? '', content: l.files[0]?.content ?? '' })),
    scorecardTemplate: q.scorecardTemplate,
    signature: fromSignature(q.signature),
    tests: q.tests,
  };
}

/** What the API takes; a starter left without a name gets the language's own file (generated
 * from the signature in a language with a harness). */
export function toInput(draft: Draft): QuestionInput {
  return {
    title: draft.title,
    prompt: draft.prompt,
    difficulty: draft.difficulty,
    tags: parseTags(draft.tags),
    guidance: draft.guidance,
    scorecardTemplate: draft.scorecardTemplate ? { sections: draft.scorecardTemplate } : null,
    signature: toSignature(draft.signature),
    tests: draft.tests,
    languages: draft.starters.map((s) => ({
      language: s.language,
      files: s.name.trim() ? [{ name: s.name.trim(), content: s.content }] : [],
    })),
  };
}

function QuestionForm(props: { question: Question | null; onSaved: (q: Question) => void; onCancel: () => void }) {
  const languages = useLanguages();
  const [draft, setDraft] = useState<Draft>(props.question ? toDraft(props.question) : EMPTY);
  const [adding, setAdding] = useState('python');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const set = (patch: Partial<Draft>) => setDraft((d) => ({ ...d, ...patch }));
  const signature = toSignature(draft.signature);
  const withHarness = harnessLanguages(languages);
  const hasFunctionCases = draft.tests.some((t) => t.kind === 'function');
  const cannotCall = withoutHarness(
    draft.starters.map((s) => s.language),
    languages,
  );
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const input = toInput(draft);
      const saved = props.question ? await questionsApi.update(props.question.id, input) : await questionsApi.create(input);
      props.onSaved(saved);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="card stack question-form" onSubmit={submit} aria-label="Question">
      <h2>{props.question ? 'Edit question' : 'New question'}</h2>
      <label htmlFor="q-title">Title</label>
      <input id="q-title" className="input" value={draft.title} onChange={(e) => set({ title: e.target.value })} required />
      <div className="row wrap">
        <label htmlFor="q-difficulty">Difficulty</label>
        <select id="q-difficulty" className="input" value={draft.difficulty} onChange={(e) => set({ difficulty: e.target.value as Difficulty })}>
          {DIFFICULTIES.map((d) => (
            <option key={d} value={d}>
              {d}
            </option>
          ))}
        </select>
        <label htmlFor="q-tags">Tags</label>
        <input id="q-tags" className="input grow" placeholder="arrays, graphs" value={draft.tags} onChange={(e) => set({ tags: e.target.value })} />
      </div>
      <label htmlFor="q-prompt">Prompt (Markdown, shown to the candidate)</label>
      <textarea id="q-prompt" className="input" value={draft.prompt} onChange={(e) => set({ prompt: e.target.value })} />
      <label htmlFor="q-guidance">Guidance (interviewers only: expected solution, hints, what to look for)</label>
      <textarea id="q-guidance" className="input" value={draft.guidance} onChange={(e) => set({ guidance: e.target.value })} />
      <label className="row">
        <input
          type="checkbox"
          data-testid="question-scorecard-template"
          checked={!!draft.scorecardTemplate}
          onChange={async (e) => {
            if (!e.target.checked) return set({ scorecardTemplate: null });
            try {
              set({ scorecardTemplate: (await interviewApi.template()).sections });
            } catch (err) {
              setError(describeError(err));
            }
          }}
        />
        {draft.scorecardTemplate
          ? `Its interviews' scorecards use this question's criteria (${draft.scorecardTemplate.reduce((n, s) => n + s.criteria.length, 0)})`
          : "Give its interviews' scorecards my template's criteria (otherwise each interviewer's own)"}
      </label>
      <h3>Languages and starter files</h3>
      {draft.starters.map((s, i) => (
        <fieldset key={s.language} className="stack">
          <legend>{languages.find((l) => l.id === s.language)?.name ?? s.language}</legend>
          <input
            className="input"
            aria-label={`${s.language} starter file name`}
            placeholder="file name (empty: the language's own file)"
            value={s.name}
            onChange={(e) => set({ starters: draft.starters.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)) })}
          />
          <textarea
            className="input"
            aria-label={`${s.language} starter code`}
            placeholder={s.name.trim() ? '' : signature ? 'empty: generated from the function signature' : "empty: the language's own starter"}
            value={s.content}
            onChange={(e) => set({ starters: draft.starters.map((x, j) => (j === i ? { ...x, content: e.target.value } : x)) })}
          />
          <button type="button" className="btn btn-small btn-ghost" onClick={() => set({ starters: draft.starters.filter((_, j) => j !== i) })}>
            Remove {s.language}
          </button>
        </fieldset>
      ))}
      <div className="row">
        <select className="input" aria-label="Language to add" value={adding} onChange={(e) => setAdding(e.target.value)}>
          {languages.map((l) => (
            <option key={l.id} value={l.id}>
              {l.name}
            </option>
          ))}
        </select>
        <button
          type="button"
          className="btn btn-small"
          disabled={draft.starters.some((s) => s.language === adding)}
          onClick={() => {
            const language = languages.find((l) => l.id === adding);
            // With a signature, a language with a harness is left to the server, which writes
            // its starter from the signature.
            const generated = signature && language?.functionTests;
            const starter = generated
              ? { language: adding, name: '', content: '' }
              : { language: adding, name: language?.defaultFile ?? '', content: language?.template ?? '' };
            set({ starters: [...draft.starters, starter] });
          }}
        >
          Add language
        </button>
      </div>
      <fieldset className="stack" aria-label="Function signature">
        <legend>Function signature (optional: for function test cases)</legend>
        <div className="row wrap">
          <input
            className="input"
            aria-label="Function name"
            data-testid="signature-function"
            placeholder="twoSum"
            value={draft.signature.function}
            onChange={(e) => set({ signature: { ...draft.signature, function: e.target.value } })}
          />
          <input
            className="input grow"
            aria-label="Parameters"
            data-testid="signature-params"
            placeholder="nums, target"
            value={draft.signature.params}
            onChange={(e) => set({ signature: { ...draft.signature, params: e.target.value } })}
          />
        </div>
        <p className="muted small" data-testid="harness-languages">
          Function test cases run in {withHarness.map((l) => l.name).join(', ') || 'no language of this server'}; other languages keep
          stdin/stdout cases only.
        </p>
        {hasFunctionCases && cannotCall.length > 0 && (
          <p className="alert alert-error small" role="alert" data-testid="harness-missing">
            Function cases cannot run in {cannotCall.join(', ')}: remove {cannotCall.length > 1 ? 'them' : 'it'} or use stdin/stdout cases.
          </p>
        )}
      </fieldset>
      <TestCasesEditor cases={draft.tests} signature={signature} onChange={(tests) => set({ tests })} />
      {error && (
        <p className="alert alert-error" role="alert">
          {error}
        </p>
      )}
      <div className="row">
        <button className="btn btn-primary" type="submit" disabled={busy} data-testid="save-question">
          {busy ? 'Saving…' : 'Save question'}
        </button>
        <button className="btn" type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function QuestionDetail(props: { id: number; onEdit: (q: Question) => void; onDeleted: () => void }) {
  const navigate = useNavigate();
  const [question, setQuestion] = useState<Question | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [language, setLanguage] = useState('');
  const [editorId, setEditorId] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    let live = true;
    questionsApi.get(props.id).then(
      (q) => {
        if (!live) return;
        setQuestion(q);
        setLanguage(q.languages[0]?.language ?? '');
      },
      (err) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [props.id]);
  if (error) return <ErrorMessage error={error} />;
  if (!question) return <Spinner />;
  const start = async () => {
    setBusy(true);
    try {
      const started = await questionsApi.start(question.id, { language });
      navigate(`/p/${started.pad.slug}`);
    } catch (err) {
      toast(`Couldn't start the interview: ${describeError(err)}`, 'error');
      setBusy(false);
    }
  };
  const share = async (e: FormEvent) => {
    e.preventDefault();
    try {
      setQuestion(await questionsApi.share(question.id, Number(editorId)));
      setEditorId('');
    } catch (err) {
      toast(describeError(err), 'error');
    }
  };
  const remove = async () => {
    try {
      await questionsApi.remove(question.id);
      props.onDeleted();
    } catch (err) {
      toast(describeError(err), 'error');
    }
  };
  return (
    <section className="card stack" aria-label={question.title}>
      <h2>{question.title}</h2>
      <p className="muted small">
        {question.difficulty} · {question.tags.join(', ') || 'no tags'} · by {question.owner.name}
      </p>
      <div className="row wrap">
        <select className="input" aria-label="Interview language" value={language} onChange={(e) => setLanguage(e.target.value)}>
          {question.languages.map((l) => (
            <option key={l.language} value={l.language}>
              {l.language}
            </option>
          ))}
        </select>
        <button className="btn btn-primary" disabled={busy} onClick={start} data-testid="start-interview">
          {busy ? 'Starting…' : 'Start interview'}
        </button>
        <button className="btn" onClick={() => props.onEdit(question)}>
          Edit
        </button>
        {question.mine && (
          <button className="btn btn-danger" onClick={remove}>
            Delete
          </button>
        )}
      </div>
      {question.signature && (
        <p className="small" data-testid="question-signature">
          Function <code>{`${question.signature.function}(${question.signature.params.join(', ')})`}</code>: function test cases run in{' '}
          {question.functionLanguages.join(', ') || 'none of its languages'}
          {question.functionLanguages.length < question.languages.length && '; its other languages take stdin/stdout cases only'}.
        </p>
      )}
      <pre className="mono small">{question.prompt}</pre>
      <TakehomeCreate question={question} />
      {question.mine && (
        <form className="row wrap" onSubmit={share}>
          <label htmlFor="q-editor">Share with user id</label>
          <input id="q-editor" className="input" inputMode="numeric" value={editorId} onChange={(e) => setEditorId(e.target.value)} />
          <button className="btn btn-small" type="submit" disabled={!/^\d+$/.test(editorId)}>
            Add co-editor
          </button>
          {question.editors.map((ed) => (
            <span key={ed.id} className="chip">
              {ed.name}
            </span>
          ))}
        </form>
      )}
    </section>
  );
}

export default function QuestionBank() {
  const languages = useLanguages();
  const [filter, setFilter] = useState<QuestionFilter>({});
  const [page, setPage] = useState<{ questions: QuestionSummary[]; nextBefore?: number } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [selected, setSelected] = useState<number | null>(null);
  const [editing, setEditing] = useState<Question | 'new' | null>(null);
  const [nonce, setNonce] = useState(0);
  const load = useCallback(async (f: QuestionFilter, append: boolean) => {
    try {
      const next = await questionsApi.list(f);
      setPage((prev) => (append && prev ? { questions: [...prev.questions, ...next.questions], nextBefore: next.nextBefore } : next));
      setError(null);
    } catch (err) {
      setError(err);
    }
  }, []);
  useEffect(() => {
    const t = setTimeout(() => void load(filter, false), 200);
    return () => clearTimeout(t);
  }, [filter, load, nonce]);
  const set = (patch: QuestionFilter) => setFilter((f) => ({ ...f, ...patch, before: undefined }));
  return (
    <>
      <AppHeader />
      <main className="page question-bank stack">
        <div className="row wrap">
          <h1 className="grow">Question bank</h1>
          <button className="btn btn-primary" data-testid="new-question" onClick={() => setEditing('new')}>
            New question
          </button>
        </div>
        {editing && (
          <QuestionForm
            question={editing === 'new' ? null : editing}
            onCancel={() => setEditing(null)}
            onSaved={(q) => {
              setEditing(null);
              setSelected(q.id);
              setNonce((n) => n + 1);
            }}
          />
        )}
        <div className="row wrap" role="search">
          <input className="input grow" placeholder="Search titles and prompts" aria-label="Search" onChange={(e) => set({ q: e.target.value })} />
          <input className="input" placeholder="tag" aria-label="Tag" onChange={(e) => set({ tag: e.target.value.trim() })} />
          <select className="input" aria-label="Language" onChange={(e) => set({ language: e.target.value })}>
            <option value="">any language</option>
            {languages.map((l) => (
              <option key={l.id} value={l.id}>
                {l.name}
              </option>
            ))}
          </select>
          <select className="input" aria-label="Difficulty" onChange={(e) => set({ difficulty: e.target.value })}>
            <option value="">any difficulty</option>
            {DIFFICULTIES.map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </div>
        {error != null && <ErrorMessage error={error} onRetry={() => setNonce((n) => n + 1)} />}
        {page == null && error == null && <Spinner />}
        {page && page.questions.length === 0 && <p className="muted">No questions yet. Write one to start interviews from it.</p>}
        <ul className="stack" aria-label="Questions">
          {page?.questions.map((q) => (
            <li key={q.id} className="row wrap question-row">
              <button className="btn btn-ghost" aria-pressed={selected === q.id} onClick={() => setSelected(q.id)}>
                {q.title}
              </button>
              <span className="chip">{q.difficulty}</span>
              {q.tags.map((t) => (
                <span key={t} className="chip">
                  #{t}
                </span>
              ))}
              <span className="muted small">{q.languages.join(', ')}</span>
              {!q.mine && <span className="muted small">shared by {q.owner.name}</span>}
            </li>
          ))}
        </ul>
        {page?.nextBefore != null && (
          <button className="btn" onClick={() => void load({ ...filter, before: page.nextBefore }, true)}>
            More
          </button>
        )}
        {selected != null && (
          <QuestionDetail
            key={`${selected}-${nonce}`}
            id={selected}
            onEdit={(q) => setEditing(q)}
            onDeleted={() => {
              setSelected(null);
              setNonce((n) => n + 1);
            }}
          />
        )}
      </main>
    </>
  );
}
