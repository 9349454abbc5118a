// The pad's shared whiteboard: Excalidraw bound to the root map `whiteboard` of the pad's Y.Doc
// (the same document and socket as the editor; see boardSync.ts for the mapping). Loaded only when
// opened (this module is a lazy chunk with Excalidraw in it); its fonts come from our own origin
// (web/build/excalidrawAssets.ts).
// Read-only roles get Excalidraw's view mode; the server refuses their updates anyway.
import '@excalidraw/excalidraw/index.css';
import './whiteboard.css';
import { CaptureUpdateAction, Excalidraw } from '@excalidraw/excalidraw';
import type { Collaborator, ExcalidrawImperativeAPI, SocketId } from '@excalidraw/excalidraw/types';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Awareness } from 'y-protocols/awareness';
import type * as Y from 'yjs';
import { personColor } from '../../ui/personColor';
import { mergeScene, observeRemote, sceneOf, writeScene, type BoardElement } from './boardSync';

/** Local changes are written to the document at most this often (a drag fires onChange per frame). */
const WRITE_EVERY_MS = 80;
/** Our pointer on the board is published at most this often. */
const POINTER_EVERY_MS = 80;

type SceneElements = Parameters<ExcalidrawImperativeAPI['updateScene']>[0]['elements'];

interface PointerState {
  x: number;
  y: number;
}

/** Remote pointers from awareness (`board: {x, y}`; `user` is stamped by the server). */
function collaborators(awareness: Awareness): Map<SocketId, Collaborator> {
  const out = new Map<SocketId, Collaborator>();
  awareness.getStates().forEach((state, clientId) => {
    if (clientId === awareness.clientID) return;
    const board = (state as { board?: PointerState | null }).board;
    const user = (state as { user?: { id?: number; name?: string } }).user;
    if (!board || typeof board.x !== 'number' || typeof board.y !== 'number') return;
    const name = typeof user?.name === 'string' ? user.name : 'someone';
    const color = personColor(typeof user?.id === 'number' ? user.id : null, name);
    out.set(String(clientId) as SocketId, { pointer: { x: board.x, y: board.y, tool: 'pointer' }, username: name, color: { background: color, stroke: color } });
  });
  return out;
}

export default function WhiteboardPanel(props: { doc: Y.Doc; readOnly: boolean; theme: 'light' | 'dark'; awareness?: Awareness }) {
  const { doc, readOnly, theme, awareness } = props;
  // State, not a ref: the scene is first filled from the document once Excalidraw hands it over.
  const [api, setApi] = useState<ExcalidrawImperativeAPI | null>(null);
  // Read once, at mount, as Excalidraw does; later changes come through the observer.
  const [initialData] = useState(() => ({ elements: sceneOf(doc) as unknown as SceneElements, appState: { viewBackgroundColor: '#ffffff' } }));
  // This panel's writes carry this origin, so its own observer skips them (no echo).
  const origin = useRef({}).current;
  const pending = useRef<readonly BoardElement[] | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const lastPointer = useRef(0);
  // How many shapes are shown, kept on the container for assistive tech and tests; set directly,
  // since onChange fires per frame and a re-render of Excalidraw per frame would be wasted.
  const hostRef = useRef<HTMLDivElement>(null);
  const showCount = useCallback((elements: readonly unknown[]) => {
    const count = (elements as readonly BoardElement[]).filter((e) => !e.isDeleted).length;
    hostRef.current?.setAttribute('data-shapes', String(count));
    hostRef.current?.setAttribute('aria-label', `Whiteboard, ${count} shape${count === 1 ? '' : 's'}`);
  }, []);

  const flush = useCallback(() => {
    timer.current = null;
    const elements = pending.current;
    pending.current = null;
    if (elements && !readOnly) writeScene(doc, elements, origin);
  }, [doc, origin, readOnly]);

  // Remote changes (and a document that arrives after the board opened) into the scene.
  useEffect(() => {
    if (!api) return;
    const apply = () => {
      // A read-only board mirrors the document exactly (playback seeks back to fresh documents).
      const local = readOnly ? [] : (api.getSceneElementsIncludingDeleted() as unknown as readonly BoardElement[]);
      const merged = mergeScene(doc, local);
      if (merged.reassert.length && !readOnly) writeScene(doc, merged.reassert, origin);
      api.updateScene({ elements: merged.elements as unknown as SceneElements, captureUpdate: CaptureUpdateAction.NEVER });
      showCount(merged.elements);
    };
    const stop = observeRemote(doc, origin, apply);
    apply();
    return () => {
      stop();
      if (timer.current) clearTimeout(timer.current);
      flush();
    };
  }, [api, doc, origin, readOnly, flush, showCount]);

  useEffect(() => {
    if (!awareness || !api) return;
    const show = () => api.updateScene({ collaborators: collaborators(awareness) });
    awareness.on('change', show);
    return () => {
      awareness.off('change', show);
      if (awareness.getLocalState()) awareness.setLocalStateField('board', null);
    };
  }, [awareness, api]);

  const onChange = useCallback(
    (elements: readonly unknown[]) => {
      showCount(elements);
      if (readOnly) return;
      pending.current = elements as readonly BoardElement[];
      if (!timer.current) timer.current = setTimeout(flush, WRITE_EVERY_MS);
    },
    [flush, readOnly, showCount],
  );

  const onPointerUpdate = useCallback(
    (payload: { pointer: { x: number; y: number } }) => {
      if (!awareness || readOnly) return;
      const now = Date.now();
      if (now - lastPointer.current < POINTER_EVERY_MS) return;
      lastPointer.current = now;
      awareness.setLocalStateField('board', { x: Math.round(payload.pointer.x), y: Math.round(payload.pointer.y) });
    },
    [awareness, readOnly],
  );

  return (
    <div ref={hostRef} className="whiteboard" role="region" data-testid="whiteboard" data-readonly={readOnly ? 'true' : 'false'}>
      <Excalidraw
        excalidrawAPI={setApi}
        initialData={initialData}
        viewModeEnabled={readOnly}
        theme={theme}
        isCollaborating={!!awareness}
        onChange={onChange}
        onPointerUpdate={onPointerUpdate}
        // Images would need file storage of their own: not shared, so not offered.
        onPaste={(data, event) => !event?.clipboardData?.files.length && Object.keys(data.files ?? {}).length === 0}
        UIOptions={{ tools: { image: false }, canvasActions: { loadScene: false } }}
      />
    </div>
  );
}
