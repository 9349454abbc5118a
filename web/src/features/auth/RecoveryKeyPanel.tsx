import { useState } from 'react';
import { copyText } from '../../ui/clipboard';

/** Shows a freshly issued recovery key once, with copy/download and a clear warning. */
export function RecoveryKeyPanel(props: { recoveryKey: string; userName: string; onDone: () => void; doneLabel?: string }) {
  const [copied, setCopied] = useState<null | boolean>(null);
  const [saved, setSaved] = useState(false);

  const download = () => {
    const text =
      `opencoder recovery key for "${props.userName}"\n\n${props.recoveryKey}\n\n` +
      `Use "I have a recovery key" on the opencoder start page to sign back in.\nAnyone with this key can use your account.\n`;
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = 'opencoder-recovery-key.txt';
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    setSaved(true);
  };

  return (
    <section className="stack" aria-labelledby="recovery-title">
      <h2 id="recovery-title">Save your recovery key</h2>
      <p className="alert alert-warn">
        <strong>This is shown only once.</strong> There is no email or password: this key is the only way back into your
        account from another browser, or after this one forgets you. Keep it somewhere safe and private — anyone with it
        can use your account.
      </p>
      <div className="key-box">
        <code data-testid="recovery-key" aria-label="Recovery key">
          {props.recoveryKey}
        </code>
      </div>
      <div className="row wrap">
        <button
          className="btn"
          onClick={async () => {
            const ok = await copyText(props.recoveryKey);
            setCopied(ok);
            if (ok) setSaved(true);
          }}
        >
          {copied === true ? 'Copied ✓' : 'Copy key'}
        </button>
        <button className="btn" onClick={download}>
          Download as .txt
        </button>
        {copied === false && (
          <span className="muted" role="alert">
            Couldn't copy automatically — select the key and copy it by hand.
          </span>
        )}
      </div>
      <label className="check">
        <input type="checkbox" checked={saved} onChange={(e) => setSaved(e.target.checked)} />
        I have saved my recovery key
      </label>
      <div>
        <button className="btn btn-primary" disabled={!saved} onClick={props.onDone}>
          {props.doneLabel ?? 'Continue →'}
        </button>
      </div>
    </section>
  );
}
