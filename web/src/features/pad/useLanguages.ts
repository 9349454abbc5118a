import { useEffect, useState } from 'react';
import { api, type Language } from '../../api';
import { FALLBACK_LANGUAGES } from './languages';

let cache: Language[] | null = null;
let inflight: Promise<Language[]> | null = null;

/** The server's language table when it offers one, else the built-in list. */
export function useLanguages(): Language[] {
  const [langs, setLangs] = useState<Language[]>(cache ?? FALLBACK_LANGUAGES);
  useEffect(() => {
    if (cache) return;
    inflight ??= api
      .languages()
      .then((r) => (Array.isArray(r?.languages) && r.languages.length ? r.languages : FALLBACK_LANGUAGES))
      .catch(() => FALLBACK_LANGUAGES);
    let live = true;
    void inflight.then((l) => {
      cache = l;
      if (live) setLangs(l);
    });
    return () => {
      live = false;
    };
  }, []);
  return langs;
}
