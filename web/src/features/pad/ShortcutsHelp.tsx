import { Modal } from '../../ui/Modal';
import { Kbd, modKey } from '../../ui/common';

const ROWS: [string[], string][] = [
  [[modKey, 'Enter'], 'Run the program (editor, stdin box, or anywhere outside a text field)'],
  [[modKey, 'Shift', 'Enter'], 'Run the program, then keep a REPL open in its context (Python, JavaScript, Ruby)'],
  [[modKey, '.'], 'Stop the run in progress'],
  [[modKey, 'Z'], 'Undo your own edits (not other people’s)'],
  [[modKey, 'Shift', 'Z'], 'Redo'],
  [['Alt', '1'], 'Show / hide files'],
  [['Alt', '2'], 'Show / hide chat'],
  [['Alt', '3'], 'Show / hide people'],
  [['Alt', '4'], 'Show / hide output'],
  [['Alt', '5'], 'Show / hide the shared terminal'],
  [['Alt', '6'], 'Show / hide recordings'],
  [['Enter'], 'Send a chat message (Shift+Enter for a new line)'],
  [['F1'], 'Editor command palette (inside the editor)'],
  [['Ctrl', 'M'], 'Toggle whether Tab moves focus out of the editor (keyboard navigation)'],
  [['?'], 'This help (outside text fields)'],
  [['Esc'], 'Close dialogs'],
];

export function ShortcutsHelp(props: { onClose: () => void }) {
  return (
    <Modal title="Keyboard shortcuts" onClose={props.onClose}>
      <table className="shortcuts">
        <tbody>
          {ROWS.map(([keys, what]) => (
            <tr key={what}>
              <td>
                {keys.map((k, i) => (
                  <span key={k}>
                    {i > 0 && ' + '}
                    <Kbd>{k}</Kbd>
                  </span>
                ))}
              </td>
              <td>{what}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted small">On the dashboard, <Kbd>N</Kbd> jumps to the new-pad form.</p>
      <p className="muted small">
        Watching a recording: <Kbd>Space</Kbd> plays / pauses, <Kbd>←</Kbd> <Kbd>→</Kbd> step to the previous / next
        change, <Kbd>Shift</Kbd>+<Kbd>←</Kbd> <Kbd>→</Kbd> jump 10 s, <Kbd>Home</Kbd> / <Kbd>End</Kbd> go to the
        start / end.
      </p>
    </Modal>
  );
}
