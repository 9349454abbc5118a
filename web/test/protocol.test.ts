import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import { MSG_APP, decodeAppFrame, encodeAppMessage, readAppMessage } from '../src/collab/protocol';

describe('type-100 app frames', () => {
  it('encodes as varUint(100) + varString(JSON)', () => {
    const frame = encodeAppMessage({ type: 'chat', body: 'hi' });
    const json = '{"type":"chat","body":"hi"}';
    // 100 fits in one varUint byte (< 128); then the UTF-8 length, then the bytes.
    expect(frame[0]).toBe(100);
    expect(frame[1]).toBe(json.length);
    expect(new TextDecoder().decode(frame.slice(2))).toBe(json);
  });

  it('round-trips unicode and nested values', () => {
    const msg = { type: 'chat', body: 'héllo ✓ 🚀 — "quotes" \\ \n', nested: { a: [1, 2] } };
    expect(decodeAppFrame(encodeAppMessage(msg))).toEqual(msg);
  });

  it('handles long payloads (multi-byte length prefix)', () => {
    const body = 'x'.repeat(100_000);
    expect(decodeAppFrame(encodeAppMessage({ type: 'chat', body }))).toEqual({ type: 'chat', body });
  });

  it('decodes server messages built with lib0', () => {
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MSG_APP);
    encoding.writeVarString(encoder, JSON.stringify({ type: 'run.output', runId: 'r1', stream: 'stderr', data: 'boom\n' }));
    const decoder = decoding.createDecoder(encoding.toUint8Array(encoder));
    expect(decoding.readVarUint(decoder)).toBe(MSG_APP);
    expect(readAppMessage(decoder)).toEqual({ type: 'run.output', runId: 'r1', stream: 'stderr', data: 'boom\n' });
  });

  it('ignores malformed frames instead of throwing', () => {
    const bad = (payload: string) => {
      const e = encoding.createEncoder();
      encoding.writeVarUint(e, MSG_APP);
      encoding.writeVarString(e, payload);
      return encoding.toUint8Array(e);
    };
    expect(decodeAppFrame(bad('not json'))).toBeNull();
    expect(decodeAppFrame(bad('[1,2]'))).toBeNull();
    expect(decodeAppFrame(bad('"str"'))).toBeNull();
    expect(decodeAppFrame(bad('{"no":"type"}'))).toBeNull();
    expect(decodeAppFrame(bad('{"type":""}'))).toBeNull();
    expect(decodeAppFrame(new Uint8Array([100, 50, 1]))).toBeNull(); // truncated
    expect(decodeAppFrame(new Uint8Array([]))).toBeNull();
    expect(decodeAppFrame(new Uint8Array([0, 0, 1, 0]))).toBeNull(); // a sync frame is not an app frame
  });
});
