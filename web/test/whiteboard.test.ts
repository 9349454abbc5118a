import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  boardMap,
  mergeScene,
  observeRemote,
  sceneOf,
  wins,
  writeScene,
  type BoardElement,
} from '../src/features/whiteboard/boardSync';

function rect(id: string, version: number, versionNonce: number, extra: Partial<BoardElement> = {}): BoardElement {
  return { id, type: 'rectangle', x: 0, y: 0, width: 10, height: 10, index: 'a0', version, versionNonce, isDeleted: false, ...extra };
}

/** Two replicas of one pad's document, exchanging updates as the socket would. */
function pair() {
  const a = new Y.Doc();
  const b = new Y.Doc();
  const sync = () => {
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)), 'remote');
    Y.applyUpdate(a, Y.encodeStateAsUpdate(b, Y.encodeStateVector(a)), 'remote');
  };
  return { a, b, sync };
}

describe('merge rule', () => {
  it('prefers the higher version, then the lower nonce', () => {
    expect(wins(rect('x', 3, 9), rect('x', 2, 1))).toBe(true);
    expect(wins(rect('x', 2, 1), rect('x', 3, 9))).toBe(false);
    expect(wins(rect('x', 2, 1), rect('x', 2, 5))).toBe(true);
    expect(wins(rect('x', 2, 5), rect('x', 2, 1))).toBe(false);
  });

  it('concurrent edits of one element end on the same winner on both sides', () => {
    const { a, b, sync } = pair();
    writeScene(a, [rect('x', 1, 1)], 'a');
    sync();
    // Both move it at once; b's edit wins by the rule (same version, lower nonce).
    writeScene(a, [rect('x', 2, 50, { x: 100 })], 'a');
    writeScene(b, [rect('x', 2, 10, { x: 200 })], 'b');
    sync();
    // Whatever Yjs kept, the replica holding the winner writes it again.
    for (const [doc, local, origin] of [
      [a, rect('x', 2, 50, { x: 100 }), 'a'],
      [b, rect('x', 2, 10, { x: 200 }), 'b'],
    ] as const) {
      const merged = mergeScene(doc, [local]);
      writeScene(doc, merged.reassert, origin);
    }
    sync();
    expect(sceneOf(a)).toEqual(sceneOf(b));
    expect(sceneOf(a)[0].x).toBe(200);
    expect(mergeScene(a, [rect('x', 2, 50, { x: 100 })]).elements[0].x).toBe(200);
  });

  it('an older remote revision does not replace a newer local one, and is reasserted', () => {
    const doc = new Y.Doc();
    writeScene(doc, [rect('x', 1, 1)], 'remote');
    const merged = mergeScene(doc, [rect('x', 4, 1, { x: 7 })]);
    expect(merged.elements.map((e) => e.x)).toEqual([7]);
    expect(merged.reassert.map((e) => e.version)).toEqual([4]);
  });
});

describe('deletions', () => {
  it('an erased element is stored as a tombstone and leaves every scene', () => {
    const { a, b, sync } = pair();
    writeScene(a, [rect('x', 1, 1), rect('y', 1, 1, { index: 'a1' })], 'a');
    sync();
    writeScene(a, [rect('x', 2, 3, { isDeleted: true })], 'a');
    sync();
    expect(boardMap(b).get('x')).toEqual({ id: 'x', version: 2, versionNonce: 3, isDeleted: true, index: 'a0' });
    expect(mergeScene(b, [rect('x', 1, 1), rect('y', 1, 1, { index: 'a1' })]).elements.map((e) => e.id)).toEqual(['y']);
  });

  it('a late edit of an erased element does not bring it back', () => {
    const doc = new Y.Doc();
    writeScene(doc, [rect('x', 1, 1)], 'a');
    writeScene(doc, [rect('x', 5, 1, { isDeleted: true })], 'a');
    expect(writeScene(doc, [rect('x', 4, 1, { x: 9 })], 'b')).toBe(0);
    expect(sceneOf(doc)).toEqual([]);
  });

  it('an element drawn and erased before it was ever written is not written', () => {
    const doc = new Y.Doc();
    expect(writeScene(doc, [rect('x', 3, 1, { isDeleted: true })], 'a')).toBe(0);
    expect(boardMap(doc).size).toBe(0);
  });
});

describe('ownership of objects', () => {
  it('changing a written or merged element in place changes nothing stored', () => {
    const doc = new Y.Doc();
    const mine = rect('x', 1, 1);
    writeScene(doc, [mine], 'a');
    mine.version = 9;
    mine.x = 500;
    expect(boardMap(doc).get('x')?.version).toBe(1);
    // So the change is seen as one and written.
    expect(writeScene(doc, [mine], 'a')).toBe(1);
    const shown = mergeScene(doc, []).elements[0];
    shown.x = -1;
    expect(boardMap(doc).get('x')?.x).toBe(500);
  });
});

describe('no echo', () => {
  it('reporting back a scene taken from the map writes nothing', () => {
    const { a, b, sync } = pair();
    writeScene(a, [rect('x', 1, 1), rect('y', 2, 2, { index: 'a1' })], 'a');
    sync();
    const before = Y.encodeStateVector(b);
    const shown = mergeScene(b, []).elements;
    expect(writeScene(b, shown, 'b')).toBe(0);
    expect(Y.encodeStateVector(b)).toEqual(before);
  });

  it('the observer hears remote changes only', () => {
    const { a, b, sync } = pair();
    let heard = 0;
    const stop = observeRemote(b, 'b', () => (heard += 1));
    writeScene(b, [rect('mine', 1, 1)], 'b');
    expect(heard).toBe(0);
    writeScene(a, [rect('theirs', 1, 1)], 'a');
    sync();
    expect(heard).toBe(1);
    stop();
    writeScene(a, [rect('later', 1, 1)], 'a');
    sync();
    expect(heard).toBe(1);
  });
});

describe('scene', () => {
  it('is in drawing order and shares no images', () => {
    const doc = new Y.Doc();
    writeScene(doc, [rect('top', 1, 1, { index: 'a2' }), rect('bottom', 1, 1, { index: 'a0' }), rect('pic', 1, 1, { type: 'image', index: 'a1' })], 'a');
    expect(sceneOf(doc).map((e) => e.id)).toEqual(['bottom', 'top']);
  });

  it('keeps local elements the map does not know yet', () => {
    const doc = new Y.Doc();
    writeScene(doc, [rect('old', 1, 1)], 'remote');
    const merged = mergeScene(doc, [rect('drawing', 1, 1, { index: 'a5' })]);
    expect(merged.elements.map((e) => e.id)).toEqual(['old', 'drawing']);
    expect(merged.reassert).toEqual([]);
  });
});
