import { createApiClient, localTokenStore, type ApiError } from './client';
import { endpoints } from './endpoints';

type UnauthorizedListener = (err: ApiError) => void;
const unauthorizedListeners = new Set<UnauthorizedListener>();

/** Subscribe to "the server no longer accepts this session" (401 on an authenticated call). */
export function onUnauthorized(listener: UnauthorizedListener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export const client = createApiClient({
  tokens: localTokenStore,
  onUnauthorized: (err) => unauthorizedListeners.forEach((l) => l(err)),
});

export const api = endpoints(client);

export { ApiError, isApiError } from './client';
export { describeCode, describeError, formatWait } from './errors';
export * from './types';
