// The editor preferences form, on the settings page and in the pad's "Editor settings" dialog.
// Every change is saved at once and applies live to open editors (this tab and the user's others).
import { FONT_SIZE, KEY_BINDINGS, TAB_WIDTHS, prefs, usePrefs, type KeyBindings, type Prefs, type TabWidth } from '../../ui/prefs';
import { useUser } from '../auth/session';

const KEY_BINDING_LABEL: Record<KeyBindings, string> = { standard: 'Standard', vim: 'Vim', emacs: 'Emacs' };

/** The signed-in user's preferences and a setter that stores them for that user. */
export function useMyPrefs(): [Prefs, (patch: Partial<Prefs>) => void] {
  const userId = useUser()?.id;
  return [usePrefs(userId), (patch) => prefs.update(userId, patch)];
}

export function EditorPrefsForm() {
  const [p, update] = useMyPrefs();
  return (
    <div className="prefs-grid" data-testid="editor-prefs">
      <label htmlFor="pref-font-size">Font size</label>
      <input
        id="pref-font-size"
        className="input input-small"
        type="number"
        min={FONT_SIZE.min}
        max={FONT_SIZE.max}
        value={p.fontSize}
        onChange={(e) => {
          const v = e.target.valueAsNumber;
          if (Number.isFinite(v)) update({ fontSize: v });
        }}
      />
      <label htmlFor="pref-tab-width">Tab width</label>
      <select
        id="pref-tab-width"
        className="input input-small"
        value={String(p.tabWidth)}
        onChange={(e) => update({ tabWidth: (e.target.value === 'language' ? 'language' : Number(e.target.value)) as TabWidth })}
      >
        {TAB_WIDTHS.map((w) => (
          <option key={w} value={String(w)}>
            {w === 'language' ? "The language's convention" : `${w} spaces`}
          </option>
        ))}
      </select>
      <label htmlFor="pref-word-wrap">Word wrap</label>
      <input id="pref-word-wrap" type="checkbox" checked={p.wordWrap} onChange={(e) => update({ wordWrap: e.target.checked })} />
      <label htmlFor="pref-keys">Key bindings</label>
      <select id="pref-keys" className="input input-small" value={p.keyBindings} onChange={(e) => update({ keyBindings: e.target.value as KeyBindings })}>
        {KEY_BINDINGS.map((k) => (
          <option key={k} value={k}>
            {KEY_BINDING_LABEL[k]}
          </option>
        ))}
      </select>
    </div>
  );
}
