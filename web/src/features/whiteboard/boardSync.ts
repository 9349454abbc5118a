// The whiteboard's half of the pad's Y.Doc: the root map `whiteboard`, element id → the Excalidraw
// element as plain JSON (replaced whole on every change). Kept free of Excalidraw itself so the
// mapping is testable without a DOM and costs nothing until the board is opened.
//
// Merge rule, per element, the one Excalidraw's own collaboration uses: the higher `version` wins;
// on a tie, the lower `versionNonce`. Yjs settles two concurrent writes of one key by client id,
// which may pick the loser; the client holding the winner then writes it again (`reassert`), so
// every replica ends on the same element.
// An erased element stays as a small tombstone (`isDeleted: true`), so an edit of it that was in
// flight cannot bring it back. Images are not shared (their files would need storage of their own).
import * as Y from 'yjs';

/** The root map's name; the server bounds it (`collab::whiteboard`). */
export const WHITEBOARD_ROOT = 'whiteboard';

/** The fields of an Excalidraw element the mapping reads; the rest travels untouched. */
export interface BoardElement {
  id: string;
  version: number;
  versionNonce: number;
  isDeleted?: boolean;
  index?: string | null;
  type?: string;
  [field: string]: unknown;
}

export function boardMap(doc: Y.Doc): Y.Map<BoardElement> {
  return doc.getMap<BoardElement>(WHITEBOARD_ROOT);
}

function isElement(value: unknown): value is BoardElement {
  if (!value || typeof value !== 'object') return false;
  const e = value as Partial<BoardElement>;
  return typeof e.id === 'string' && typeof e.version === 'number' && typeof e.versionNonce === 'number';
}

/** Whether `candidate` beats `current` as the state of one element. */
export function wins(candidate: BoardElement, current: BoardElement): boolean {
  if (candidate.version !== current.version) return candidate.version > current.version;
  return candidate.versionNonce < current.versionNonce;
}

function sameRevision(a: BoardElement, b: BoardElement): boolean {
  return a.version === b.version && a.versionNonce === b.versionNonce && !!a.isDeleted === !!b.isDeleted;
}

/**
 * What is stored for an element: a copy of it, or a tombstone once erased. A copy, because Yjs keeps
 * the object it is given and Excalidraw changes its elements in place: a stored original would
 * change under the map with no update sent.
 */
export function stored(element: BoardElement): BoardElement {
  if (!element.isDeleted) return structuredClone(element);
  return { id: element.id, version: element.version, versionNonce: element.versionNonce, isDeleted: true, index: element.index ?? null };
}

/** Excalidraw's drawing order: fractional `index` (plain string order), then id. */
export function byDrawingOrder(a: BoardElement, b: BoardElement): number {
  const ia = a.index ?? '\uffff';
  const ib = b.index ?? '\uffff';
  if (ia !== ib) return ia < ib ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Whether an element is shared at all. */
export function shareable(element: BoardElement): boolean {
  return element.type !== 'image';
}

/**
 * Write the local scene's changes into the map, in one transaction tagged with `origin` (so the
 * writer's own observer can ignore it). An element is written only when it differs from the map's
 * revision and beats it, so applying a remote scene and reporting it back writes nothing.
 * Returns how many elements were written.
 */
export function writeScene(doc: Y.Doc, elements: readonly BoardElement[], origin: unknown): number {
  const map = boardMap(doc);
  const changed = elements.filter((element) => {
    if (!isElement(element) || !shareable(element)) return false;
    const current = map.get(element.id);
    if (!isElement(current)) return !element.isDeleted;
    return !sameRevision(element, current) && wins(element, current);
  });
  if (changed.length === 0) return 0;
  doc.transact(() => {
    for (const element of changed) map.set(element.id, stored(element));
  }, origin);
  return changed.length;
}

export interface Merged {
  /** The scene to show: live elements, in drawing order. */
  elements: BoardElement[];
  /** Local elements that beat what the map holds: to be written again (see the module note). */
  reassert: BoardElement[];
}

/**
 * The scene after the map changed: every element's winner between the local scene and the map.
 * Local elements the map does not know yet (drawn, not written) stay.
 */
export function mergeScene(doc: Y.Doc, local: readonly BoardElement[]): Merged {
  const map = boardMap(doc);
  const byId = new Map<string, BoardElement>();
  const reassert: BoardElement[] = [];
  for (const element of local) if (isElement(element)) byId.set(element.id, element);
  map.forEach((remote, id) => {
    if (!isElement(remote)) return;
    const mine = byId.get(id);
    if (mine && !sameRevision(mine, remote) && wins(mine, remote)) {
      if (shareable(mine)) reassert.push(mine);
      return;
    }
    // A copy for the same reason as in `stored`: the scene's objects are Excalidraw's to change.
    byId.set(id, { ...remote });
  });
  const elements = [...byId.values()].filter((e) => !e.isDeleted).sort(byDrawingOrder);
  return { elements, reassert };
}

/** The map's live elements in drawing order (a read-only view: playback). */
export function sceneOf(doc: Y.Doc): BoardElement[] {
  return mergeScene(doc, []).elements;
}

/** Call `onRemote` after every change of the map that `origin` did not make. */
export function observeRemote(doc: Y.Doc, origin: unknown, onRemote: () => void): () => void {
  const map = boardMap(doc);
  const observer = (_event: Y.YMapEvent<BoardElement>, txn: Y.Transaction) => {
    if (txn.origin !== origin) onRemote();
  };
  map.observe(observer);
  return () => map.unobserve(observer);
}
