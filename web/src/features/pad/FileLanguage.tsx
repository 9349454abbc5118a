import { useState } from 'react';
import { api, describeError, type Language, type PadFile } from '../../api';
import { fileRoot } from '../../editor/fileRoot';
import { Modal } from '../../ui/Modal';
import { toast } from '../../ui/toast';
import { fileNameFor, starterReplacesSilently } from './languageSwitch';
import { languageName } from './languages';
import type { PadSession } from './padSession';

type LanguageChange = { fileId: number; language: string; name: string };

/**
 * The open file's name and its language picker in the toolbar. Switching renames the file to the
 * new language's extension and puts the language's starter in; when the file holds someone's code
 * it asks first whether to replace it or keep it.
 */
export function FileLanguage(props: { session: PadSession; file: PadFile; languages: Language[]; canEdit: boolean }) {
  const { session, file: active, languages } = props;
  const [busy, setBusy] = useState(false);
  /** A language switch waiting for the user's answer: the file holds someone's code. */
  const [ask, setAsk] = useState<LanguageChange | null>(null);
  const apply = async (change: LanguageChange, starter: boolean) => {
    const file = session.state.files.find((f) => f.id === change.fileId);
    const to = languages.find((l) => l.id === change.language);
    if (!file) return;
    setBusy(true);
    try {
      const taken = session.state.files.some((f) => f.name === change.name && f.id !== file.id);
      const name = taken ? file.name : change.name;
      await api.files.update(session.slug, file.id, { language: change.language, ...(name !== file.name ? { name } : {}) });
      if (session.state.activeFile === file.name) session.setActiveFile(name);
      if (starter && to?.template) {
        const text = session.doc.getText(fileRoot(file.id));
        session.doc.transact(() => {
          text.delete(0, text.length);
          text.insert(0, to.template!);
        });
      }
      await session.refreshFiles();
      if (taken) toast(`${change.name} already exists, so ${file.name} kept its name.`, 'info');
    } catch (err) {
      toast(`Couldn't change the language: ${describeError(err)}`, 'error');
    } finally {
      setBusy(false);
    }
  };
  const change = (language: string) => {
    const to = languages.find((l) => l.id === language);
    if (!to) return;
    const from = languages.find((l) => l.id === active.language);
    const pending = { fileId: active.id, language, name: fileNameFor(active.name, from, to) };
    const content = session.doc.getText(fileRoot(active.id)).toString();
    if (!to.template || starterReplacesSilently(content, from)) void apply(pending, !!to.template);
    else setAsk(pending);
  };
  const answer = (starter: boolean) => {
    if (!ask) return;
    setAsk(null);
    void apply(ask, starter);
  };

  return (
    <div className="row small muted">
      <span className="mono file-crumb">{active.name}</span>
      <label className="sr-only" htmlFor="file-language">
        Language of {active.name}
      </label>
      <select id="file-language" className="input input-small" value={active.language} disabled={!props.canEdit || busy} onChange={(e) => change(e.target.value)}>
        {!languages.some((l) => l.id === active.language) && <option value={active.language}>{languageName(active.language, languages)}</option>}
        {languages.map((l) => (
          <option key={l.id} value={l.id}>
            {l.name}
          </option>
        ))}
      </select>
      {ask && (
        <Modal title={`Switch to ${languageName(ask.language, languages)}?`} onClose={() => setAsk(null)}>
          <div className="stack">
            <p>
              The file has code in it. It becomes <span className="mono">{ask.name}</span>; do you want the{' '}
              {languageName(ask.language, languages)} starter in place of its code, or keep the code as it is?
            </p>
            <div className="row end">
              <button className="btn" data-autofocus onClick={() => setAsk(null)}>
                Cancel
              </button>
              <button className="btn" onClick={() => answer(false)}>
                Keep the code
              </button>
              <button className="btn btn-danger" onClick={() => answer(true)}>
                Replace with the starter
              </button>
            </div>
          </div>
        </Modal>
      )}
    </div>
  );
}
