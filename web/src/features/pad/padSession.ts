// Everything live about one open pad: the Y.Doc and its socket, who is here, files, members,
// chat, the shared run, and the caller's role. Components subscribe to slices of `store`.
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import { api, describeError, isApiError, type ChatMessage, type Member, type Pad, type PadDetail, type PadFile, type Role } from '../../api';
import type { AppMessage } from '../../collab/protocol';
import { PadProvider, padSocketUrl, type CloseReason, type ConnectionStatus } from '../../collab/provider';
import { Store } from '../../ui/store';
import { personColor } from '../../ui/personColor';
import { toast } from '../../ui/toast';
import { session } from '../auth/session';
import type { CaseResult } from '../interview/interviewApi';
import {
  confirmPending,
  expirePending,
  failOldestPending,
  mergeMessages,
  toChatMessage,
  type PendingChat,
} from '../chat/chatState';
import { consoleMessages } from '../run/consoleInput';
import { acceptsInput, reduceRun, storedRunView, type RunEvent, type RunView } from '../run/runState';

/** Output applied to the run view per animation frame (the server sends at most 16 KiB a message). */
const FRAME_OUTPUT_CHARS = 64 * 1024;

/** How long "Stop and run again" waits for the stopped run's end before starting anyway. */
const STOP_WAIT_MS = 5000;

/** What a press of Run did. */
export type RunStart = 'started' | 'busy' | 'failed';

export interface PresenceUser {
  userId: number;
  name: string;
  color: string;
  connections: number;
}

/** A remote (or own) awareness entry, flattened for the UI. */
export interface Peer {
  clientId: number;
  userId: number | null;
  name: string;
  color: string;
  file: string | null;
  self: boolean;
}

export interface PadState {
  pad: Pad;
  files: PadFile[];
  members: Member[];
  role: Role;
  status: ConnectionStatus;
  rttMs: number | null;
  synced: boolean;
  everSynced: boolean;
  closeReason: CloseReason | null;
  presence: PresenceUser[];
  peers: Peer[];
  messages: ChatMessage[];
  pending: PendingChat[];
  hasMoreHistory: boolean;
  historyError: string | null;
  historyLoading: boolean;
  unread: number;
  chatOpen: boolean;
  run: RunView | null;
  /** A run request is in flight (before `run.started` arrives). */
  runRequested: boolean;
  runError: string | null;
  /** Runs started here end their input after the pre-filled stdin (no console input). */
  runEndsInput: boolean;
  activeFile: string | null;
  /**
   * The pad's active recording as the server last pushed it (`recordings.changed`), with when we
   * heard; `onJoin` marks the status the server sends every socket that joins (not a change).
   */
  recording: { id: number | null; at: number; onJoin: boolean } | null;
  /** Bumped by `interview.changed`: the pad's interview is to be fetched again. */
  interviewVersion: number;
  /** The last test run on the pad (`tests.finished`: visible cases only), by whom. */
  testsFinished: { userId: number; name: string; results: CaseResult[] } | null;
}

/** How often a pad whose history is full reminds the typist that edits are not saved. */
const HISTORY_FULL_REMINDER_MS = 10_000;

function sortFiles(files: PadFile[]): PadFile[] {
  return [...files].sort((a, b) => (a.sortOrder ?? 0) - (b.sortOrder ?? 0) || a.name.localeCompare(b.name));
}

export class PadSession {
  readonly slug: string;
  readonly doc: Y.Doc;
  readonly awareness: awarenessProtocol.Awareness;
  readonly provider: PadProvider;
  readonly store: Store<PadState>;
  readonly myUserId: number | null;
  private localChatId = 1;
  private timers: ReturnType<typeof setInterval>[] = [];
  private disposed = false;
  /** The next `recordings.changed` is the status sent on joining (a new connection is being made). */
  private joinStatusPending = true;
  private historyFullToldAt = 0;
  /** Set before a deliberate leave, so the server's 4003 close isn't shown as "you were removed". */
  expectClose = false;

  constructor(detail: PadDetail, myUserId: number | null) {
    this.slug = detail.pad.slug;
    this.myUserId = myUserId;
    this.doc = new Y.Doc();
    this.awareness = new awarenessProtocol.Awareness(this.doc);
    const files = sortFiles(detail.files ?? []);
    this.store = new Store<PadState>({
      pad: detail.pad,
      files,
      members: detail.members ?? [],
      role: detail.myRole,
      status: 'connecting',
      rttMs: null,
      synced: false,
      everSynced: false,
      closeReason: null,
      presence: [],
      peers: [],
      messages: [],
      pending: [],
      hasMoreHistory: false,
      historyError: null,
      historyLoading: false,
      unread: 0,
      chatOpen: false,
      run: null,
      runRequested: false,
      runEndsInput: false,
      runError: null,
      activeFile: files[0]?.name ?? null,
      recording: null,
      interviewVersion: 0,
      testsFinished: null,
    });
    this.awareness.setLocalState({});
    this.awareness.on('change', this.onAwarenessChange);
    this.provider = new PadProvider(this.doc, {
      url: padSocketUrl(this.slug),
      getToken: () => session.token(),
      awareness: this.awareness,
    });
    this.provider.on('status', (status) => {
      if (status !== 'live') this.joinStatusPending = true;
      this.store.set((s) => ({
        status,
        synced: this.provider.synced,
        // Who is here is only known while connected; the server re-sends it on reconnect.
        presence: status === 'live' || status === 'syncing' ? s.presence : [],
      }));
    });
    this.provider.on('synced', () => this.store.set({ synced: true, everSynced: true }));
    this.provider.on('rtt', (rttMs) => this.store.set({ rttMs }));
    this.provider.on('app', this.onApp);
    this.provider.on('permissionDenied', () => {
      /* the app-level `error` {code:"read_only"} that follows carries the words */
    });
    this.provider.on('closed', (reason) => {
      if (this.expectClose && reason.kind === 'no_access') return;
      this.store.set({ closeReason: reason });
      if (reason.kind === 'session_revoked') session.clear('expired');
    });
    this.timers.push(setInterval(() => this.store.set((s) => ({ pending: expirePending(s.pending, Date.now()) })), 2000));
    void this.loadHistory();
    void this.loadLastRun();
  }

  destroy(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.timers.forEach(clearInterval);
    if (this.runFrame !== null) cancelAnimationFrame(this.runFrame);
    this.awareness.off('change', this.onAwarenessChange);
    this.provider.destroy();
    this.awareness.destroy();
    this.doc.destroy();
  }

  get state(): PadState {
    return this.store.get();
  }

  // --- app messages --------------------------------------------------------------------------

  private onApp = (msg: AppMessage) => {
    switch (msg.type) {
      case 'hello': {
        const m = msg as { role?: string };
        const patch: Partial<PadState> = {};
        if (m.role && ['owner', 'collaborator', 'candidate', 'viewer'].includes(m.role)) patch.role = m.role as Role;
        this.store.set(patch);
        break;
      }
      case 'chat': {
        const message = toChatMessage(msg);
        if (!message) break;
        this.store.set((s) => ({
          messages: mergeMessages(s.messages, [message]),
          pending: confirmPending(s.pending, message, this.myUserId),
          unread: s.chatOpen || message.userId === this.myUserId ? s.unread : s.unread + 1,
        }));
        break;
      }
      case 'presence': {
        const users = (msg as { users?: unknown }).users;
        if (Array.isArray(users)) {
          this.store.set({
            presence: users
              .filter((u): u is Record<string, unknown> => !!u && typeof u === 'object')
              .map((u) => ({
                userId: Number(u.userId),
                name: String(u.name ?? ''),
                color: personColor(Number(u.userId), String(u.name ?? '')),
                connections: Number(u.connections ?? 1),
              })),
          });
        }
        break;
      }
      case 'members.changed': {
        const members = (msg as { members?: Member[] }).members;
        if (Array.isArray(members)) {
          const me = members.find((m) => m.userId === this.myUserId);
          this.store.set((s) => ({ members, role: (me?.role as Role) ?? s.role }));
        }
        break;
      }
      case 'files.changed': {
        const files = (msg as { files?: PadFile[] }).files;
        if (Array.isArray(files)) this.applyFiles(files);
        break;
      }
      case 'pad.changed': {
        const pad = (msg as { pad?: Partial<Pad> }).pad;
        if (pad && typeof pad === 'object') this.store.set((s) => ({ pad: { ...s.pad, ...pad } }));
        break;
      }
      case 'run.started':
      case 'run.output':
      case 'run.finished':
      case 'run.eof':
        this.queueRunEvent(msg as RunEvent);
        break;
      case 'recordings.changed': {
        const id = (msg as { recording?: unknown }).recording;
        const onJoin = this.joinStatusPending;
        this.joinStatusPending = false;
        this.store.set({ recording: { id: typeof id === 'number' ? id : null, at: Date.now(), onJoin } });
        break;
      }
      case 'interview.changed':
        this.store.set((s) => ({ interviewVersion: s.interviewVersion + 1 }));
        break;
      case 'tests.finished': {
        const { userId, name, results } = msg as { userId?: unknown; name?: unknown; results?: unknown };
        if (Array.isArray(results))
          this.store.set({ testsFinished: { userId: Number(userId), name: String(name ?? ''), results: results as CaseResult[] } });
        break;
      }
      case 'error': {
        const code = String((msg as { code?: unknown }).code ?? 'error');
        const message = String((msg as { message?: unknown }).message ?? '');
        this.onServerError(code, message);
        break;
      }
      default:
        break;
    }
  };

  private onServerError(code: string, message: string) {
    if (code === 'read_only') {
      toast("You can only view this pad: your change wasn't saved.", 'error');
      return;
    }
    if (code === 'pad_locked') {
      toast("The interviewer has paused editing: your change wasn't saved.", 'error');
      return;
    }
    if (code === 'history_full') {
      // Every refused keystroke answers with this; say it once in a while, not per key.
      const now = Date.now();
      if (now - this.historyFullToldAt > HISTORY_FULL_REMINDER_MS) {
        this.historyFullToldAt = now;
        toast("This pad's edit history is full, so changes are no longer saved. Fork the pad to keep working.", 'error');
      }
      return;
    }
    const chatInFlight = this.state.pending.some((p) => p.failed == null);
    if (code === 'invalid_chat' || (chatInFlight && (code === 'rate_limited' || code === 'forbidden' || code === 'internal'))) {
      const reason =
        code === 'rate_limited'
          ? 'Not sent: you are sending too fast. Wait a moment and retry.'
          : `Not sent: ${message || code}.`;
      this.store.set((s) => ({ pending: failOldestPending(s.pending, reason) }));
      return;
    }
    if (code === 'awareness_refused') return;
    toast(message ? `Server: ${message}` : `Server error (${code})`, 'error');
  }

  private applyFiles(files: PadFile[]) {
    const sorted = sortFiles(files);
    this.store.set((s) => {
      let activeFile = s.activeFile;
      if (activeFile && !sorted.some((f) => f.name === activeFile)) {
        // Renamed (same id) or deleted: follow the id, else fall back to the first file.
        const before = s.files.find((f) => f.name === activeFile);
        const renamed = before ? sorted.find((f) => f.id === before.id) : undefined;
        activeFile = renamed?.name ?? sorted[0]?.name ?? null;
      }
      return { files: sorted, activeFile };
    });
  }

  /** After a REST file change, adopt the server's answer at once (the socket echo follows). */
  async refreshFiles(): Promise<void> {
    try {
      const { files } = await api.files.list(this.slug);
      this.applyFiles(files);
    } catch {
      /* the files.changed message will bring it */
    }
  }

  setActiveFile(name: string) {
    this.store.set({ activeFile: name });
  }

  // --- awareness -----------------------------------------------------------------------------

  private onAwarenessChange = () => {
    const peers: Peer[] = [];
    this.awareness.getStates().forEach((state, clientId) => {
      const user = (state as { user?: { id?: unknown; name?: unknown } }).user;
      const cursor = (state as { cursor?: { file?: unknown } }).cursor;
      const self = clientId === this.doc.clientID;
      if (!user && !self) return;
      const userId = user && typeof user.id === 'number' ? user.id : self ? this.myUserId : null;
      const name = user && typeof user.name === 'string' ? user.name : 'someone';
      peers.push({
        clientId,
        userId,
        name,
        color: personColor(userId, name),
        file: cursor && typeof cursor.file === 'string' ? cursor.file : null,
        self,
      });
    });
    this.store.set({ peers });
  };

  // --- chat ----------------------------------------------------------------------------------

  async loadHistory(older = false): Promise<void> {
    const s = this.state;
    if (s.historyLoading) return;
    this.store.set({ historyLoading: true, historyError: null });
    const limit = 50;
    const before = older && s.messages.length ? s.messages[0].id : undefined;
    try {
      const res = await api.chat.history(this.slug, before, limit);
      const list = (res.messages ?? []).map(toChatMessage).filter((m): m is ChatMessage => m != null);
      this.store.set((st) => ({
        messages: mergeMessages(st.messages, list),
        hasMoreHistory: typeof res.hasMore === 'boolean' ? res.hasMore : list.length >= limit,
        historyLoading: false,
      }));
    } catch (err) {
      this.store.set({ historyLoading: false, historyError: describeError(err) });
    }
  }

  /** Send a chat message; returns false (and keeps nothing pending) when offline. */
  sendChat(body: string): boolean {
    const text = body.trim();
    if (!text) return false;
    if (!this.provider.sendApp({ type: 'chat', body: text })) return false;
    const pending: PendingChat = { localId: this.localChatId++, body: text, sentAt: Date.now(), failed: null };
    this.store.set((s) => ({ pending: [...s.pending, pending] }));
    return true;
  }

  retryChat(localId: number) {
    const p = this.state.pending.find((x) => x.localId === localId);
    if (!p) return;
    this.store.set((s) => ({ pending: s.pending.filter((x) => x.localId !== localId) }));
    if (!this.sendChat(p.body)) {
      this.store.set((s) => ({ pending: [...s.pending, { ...p, failed: 'Not sent: you are offline.' }] }));
    }
  }

  discardChat(localId: number) {
    this.store.set((s) => ({ pending: s.pending.filter((x) => x.localId !== localId) }));
  }

  setChatOpen(open: boolean) {
    this.store.set((s) => ({ chatOpen: open, unread: open ? 0 : s.unread }));
  }

  // --- runs ----------------------------------------------------------------------------------

  private runQueue: RunEvent[] = [];
  private runFrame: number | null = null;

  /** Run messages are applied once per animation frame, so a burst of output is one render. */
  private queueRunEvent(ev: RunEvent) {
    this.runQueue.push(ev);
    if (this.runFrame === null) this.runFrame = requestAnimationFrame(this.flushRunEvents);
  }

  private flushRunEvents = () => {
    this.runFrame = null;
    if (this.disposed || this.runQueue.length === 0) return;
    // At most FRAME_OUTPUT_CHARS of output per frame: a burst is spread over frames, never one long task.
    let chars = 0;
    let taken = 0;
    while (taken < this.runQueue.length && chars < FRAME_OUTPUT_CHARS) {
      const ev = this.runQueue[taken++];
      if (ev.type === 'run.output' && typeof ev.data === 'string') chars += ev.data.length;
    }
    const events = this.runQueue.splice(0, taken);
    if (this.runQueue.length > 0) this.runFrame = requestAnimationFrame(this.flushRunEvents);
    this.store.set((s) => {
      let run = s.run;
      for (const ev of events) run = reduceRun(run, ev);
      const started = events.some((ev) => ev.type === 'run.started');
      return { run, runRequested: started ? false : s.runRequested, runError: started ? null : s.runError };
    });
  };

  /** The pad's last stored run, so its output survives a reload (unless a run is already showing). */
  private async loadLastRun() {
    try {
      const res = await api.runs.last(this.slug);
      if (this.disposed || !res?.run) return;
      const stored = res.run;
      this.store.set((s) => (s.run ? {} : { run: storedRunView(stored, res.limits, res.replLimits) }));
    } catch {
      /* the panel simply starts empty */
    }
  }

  /** Stop the run in progress (the server broadcasts `run.finished` to everyone). */
  async stopRun(): Promise<void> {
    const run = this.state.run;
    if (!run || run.finished) return;
    try {
      await api.runs.stop(this.slug, run.runId);
    } catch (err) {
      if (!isApiError(err) || err.code !== 'run_finished') toast(`Couldn't stop the run: ${describeError(err)}`, 'error');
    }
  }

  /** Resolves once the run showing now has finished (or another replaced it), or after
   * STOP_WAIT_MS when its `run.finished` never arrives (socket down): the start then says why. */
  private runOver(): Promise<void> {
    return new Promise((resolve) => {
      const runId = this.state.run?.runId;
      let unsubscribe = () => {};
      const done = () => {
        unsubscribe();
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(done, STOP_WAIT_MS);
      const check = () => {
        const run = this.state.run;
        if (this.disposed || !run || run.runId !== runId || run.finished) done();
      };
      unsubscribe = this.store.subscribe(check);
      check();
    });
  }

  /** "Stop and run again": stop the run in progress, wait for its end, then start this one. */
  async stopAndRun(options: { entry?: string; language?: string; stdin?: string }): Promise<RunStart> {
    await this.stopRun();
    await this.runOver();
    return this.run(options);
  }

  /** Start a run, or with `repl` a REPL session with the entry loaded. */
  async run(options: { entry?: string; language?: string; stdin?: string; repl?: boolean }): Promise<RunStart> {
    if (this.state.runRequested) return 'failed';
    this.store.set({ runRequested: true, runError: null });
    try {
      await api.runs.start(this.slug, {
        entry: options.entry,
        language: options.language,
        stdin: options.stdin ? options.stdin : undefined,
        interactive: !this.state.runEndsInput,
        repl: options.repl || undefined,
      });
      if (!this.provider.connected) {
        this.store.set({
          runError: 'The run started, but the live connection is down, so its output may not show until you reconnect.',
        });
      }
      // `run.started` clears runRequested; guard against it never arriving.
      setTimeout(() => {
        if (this.state.runRequested) this.store.set({ runRequested: false });
      }, 15_000);
      return 'started';
    } catch (err) {
      if (isApiError(err) && (err.code === 'run_in_progress' || err.code === 'repl_open')) {
        this.store.set({ runRequested: false });
        return 'busy';
      }
      this.store.set({ runRequested: false, runError: describeError(err) });
      return 'failed';
    }
  }

  setRunEndsInput(endsInput: boolean) {
    this.store.set({ runEndsInput: endsInput });
  }

  /** Type `text` into the live run's console, then end its input if `eof`; false when the run takes
   * no input or the socket is down. Everyone sees the input once the server echoes it. */
  sendRunInput(text: string, eof = false): boolean {
    const run = this.state.run;
    if (!run || !acceptsInput(run)) return false;
    if (!this.provider.connected) {
      toast('Not sent: you are offline.', 'error');
      return false;
    }
    return consoleMessages(run.runId, text, eof).every((message) => this.provider.sendApp(message));
  }

  clearRun() {
    this.store.set({ run: null, runError: null });
  }
}
