import { useState } from 'react';
import { api, describeError } from '../../api';
import { toast } from '../../ui/toast';

/** "Sync files" for the terminal: writes the pad's current files into the shell's directory. */
export function SyncFilesButton(props: { slug: string }) {
  const [busy, setBusy] = useState(false);
  return (
    <button
      className="btn btn-ghost btn-small"
      disabled={busy}
      data-testid="terminal-sync"
      title="Copy the pad's current files into the terminal's working directory (same-named files are overwritten)"
      onClick={async () => {
        setBusy(true);
        try {
          const res = await api.terminal.syncFiles(props.slug);
          toast(`Copied ${res.files} file${res.files === 1 ? '' : 's'} into the terminal's directory.`, 'success');
        } catch (err) {
          toast(`Couldn't sync files: ${describeError(err)}`, 'error');
        } finally {
          setBusy(false);
        }
      }}
    >
      {busy ? 'Syncing…' : '⇅ Sync files'}
    </button>
  );
}
