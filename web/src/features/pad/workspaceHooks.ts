import { useEffect, useMemo, useState } from 'react';
import { api, type Health } from '../../api';
import { RecordingsWatcher } from '../recordings/recordingsWatcher';

/** The server's health, fetched once per page load and shared by every workspace. */
let healthCache: Promise<Health | null> | null = null;
export function useHealth(): Health | null {
  const [health, setHealth] = useState<Health | null>(null);
  useEffect(() => {
    healthCache ??= api.health().catch(() => null);
    let live = true;
    void healthCache.then((h) => live && setHealth(h));
    return () => {
      live = false;
    };
  }, []);
  return health;
}

/** The workspace's recordings poller, running while the caller's role may see recordings. */
export function useRecordingsWatcher(slug: string, enabled: boolean): RecordingsWatcher {
  const watcher = useMemo(() => new RecordingsWatcher(slug), [slug]);
  useEffect(() => {
    if (!enabled) return;
    watcher.start();
    return () => watcher.stop();
  }, [watcher, enabled]);
  return watcher;
}
