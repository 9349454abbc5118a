// Wire format of the pad socket (SPEC §4): standard y-protocols messages plus type 100, an
// opencoder app message carrying a lib0 varString of JSON `{type, ...}`.
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import type { RunFinished, RunKind } from '../api/types';

export const MSG_SYNC = 0;
export const MSG_AWARENESS = 1;
export const MSG_AUTH = 2;
export const MSG_QUERY_AWARENESS = 3;
export const MSG_APP = 100;

/** Close codes with a meaning for the client. */
export const CLOSE_SESSION_REVOKED = 4001;
export const CLOSE_NO_ACCESS = 4003;

export interface ChatEvent {
  type: 'chat';
  id: number | string;
  userId: number;
  name: string;
  body: string;
  at: string;
}
export interface PresenceEvent {
  type: 'presence';
  [k: string]: unknown;
}
export interface MembersChangedEvent {
  type: 'members.changed';
  [k: string]: unknown;
}
export interface FilesChangedEvent {
  type: 'files.changed';
  [k: string]: unknown;
}
export interface PadChangedEvent {
  type: 'pad.changed';
  [k: string]: unknown;
}
export interface ErrorEvent {
  type: 'error';
  code: string;
  message?: string;
  retryAfter?: number;
  [k: string]: unknown;
}
export interface RunStartedEvent {
  type: 'run.started';
  runId: string;
  /** `repl`: a REPL session after a run. */
  kind?: RunKind;
  userId?: number;
  name?: string;
  entry?: string;
  language?: string;
  /** Milliseconds since the epoch (or an RFC 3339 string). */
  at?: number | string;
  [k: string]: unknown;
}
export interface RunOutputEvent {
  type: 'run.output';
  runId: string;
  /** Per-run sequence number: a joiner gets a replay and may then see a chunk again live. */
  seq?: number;
  /** `stdin`: console input someone on the pad typed, echoed to everyone. */
  stream: 'stdout' | 'stderr' | 'stdin';
  data: string;
}
/** Someone ended the run's console input (Ctrl-D): the program has read its last input. */
export interface RunEofEvent {
  type: 'run.eof';
  runId: string;
}
export interface RunFinishedEvent extends RunFinished {
  type: 'run.finished';
  error?: string | null;
}

/** A recording of the pad started, stopped or was deleted; `recording` is the active one's id. */
export interface RecordingsChangedEvent {
  type: 'recordings.changed';
  recording: number | null;
}

export type AppMessage =
  | ChatEvent
  | PresenceEvent
  | MembersChangedEvent
  | FilesChangedEvent
  | PadChangedEvent
  | ErrorEvent
  | RunStartedEvent
  | RunOutputEvent
  | RunFinishedEvent
  | RunEofEvent
  | RecordingsChangedEvent
  | { type: string; [k: string]: unknown };

/** Client → server app messages. */
export type OutgoingAppMessage = { type: 'chat'; body: string } | { type: string; [k: string]: unknown };

/** A complete type-100 frame for `message`. */
export function encodeAppMessage(message: OutgoingAppMessage): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MSG_APP);
  encoding.writeVarString(encoder, JSON.stringify(message));
  return encoding.toUint8Array(encoder);
}

/**
 * The JSON object after the type-100 tag (the decoder is positioned just past it). Returns null
 * for anything that is not a JSON object with a string `type`: a malformed frame is ignored, not
 * fatal.
 */
export function readAppMessage(decoder: decoding.Decoder): AppMessage | null {
  let text: string;
  try {
    text = decoding.readVarString(decoder);
  } catch {
    return null;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string' || type === '') return null;
  return value as AppMessage;
}

/** Decode a whole frame if it is an app message; null otherwise. */
export function decodeAppFrame(frame: Uint8Array): AppMessage | null {
  const decoder = decoding.createDecoder(frame);
  try {
    if (decoding.readVarUint(decoder) !== MSG_APP) return null;
  } catch {
    return null;
  }
  return readAppMessage(decoder);
}
