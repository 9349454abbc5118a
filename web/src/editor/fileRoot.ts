// A file's text lives in the pad's Y.Doc under the root `file:<id>`, after the file's stable id
// (not its name), so a rename never moves text and edits in flight survive it.

/** The root of a file's text in the pad's document. */
export function fileRoot(id: number): string {
  return 'file:' + id;
}
