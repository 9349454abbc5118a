/**
 * Save a Blob as a file: an object URL on a temporary `<a download>`, revoked shortly after.
 * (Downloads that need the session are fetched with the bearer token first; a token never goes
 * into a URL.)
 */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  // Some browsers read the URL after click() returns.
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}
