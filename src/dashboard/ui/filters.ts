/**
 * Filters that apply as they change and live in the URL (`#/runs?status=FAILURE&search=invoice`): a reload or Back
 * shows the same filters. Text inputs wait until typing pauses ({@link TEXT_DEBOUNCE_MS}); choices apply at once.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { type Route, routeHref } from './common.js';

export const TEXT_DEBOUNCE_MS = 300;

export interface UrlFilters {
  values: Record<string, string>;
  /** Sets one filter; `typing`: wait for a pause before applying (text inputs). */
  set: (name: string, value: string, typing?: boolean) => void;
  /** Applies what is pending now (Enter in a text field). */
  flush: () => void;
}

/**
 * The form state of `names`, seeded from and written to the hash route `path`. Values equal to `defaults` stay out of
 * the URL; a change of filters goes back to page 1.
 */
export function useUrlFilters(
  path: string,
  route: Route,
  names: string[],
  defaults: Record<string, string>,
): UrlFilters {
  const fromRoute = () => {
    const v: Record<string, string> = {};
    for (const name of names) v[name] = route.query.get(name) ?? defaults[name] ?? '';
    return v;
  };
  const [values, setValues] = useState(fromRoute);
  const current = useRef(values);
  const written = useRef<string | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const routeKey = route.query.toString();

  // A route we did not write ourselves (Back, Forward, a link, a reload): the form follows it. Our own writes are
  // skipped, so what the user typed since is not overwritten.
  useEffect(() => {
    if (routeKey !== written.current) {
      clearTimeout(timer.current);
      current.current = fromRoute();
      setValues(current.current);
    }
    written.current = null;
  }, [routeKey]);
  useEffect(() => () => clearTimeout(timer.current), []);

  const apply = () => {
    clearTimeout(timer.current);
    timer.current = undefined;
    const query: Record<string, string | undefined> = {};
    for (const name of names) {
      const value = current.current[name]?.trim() ?? '';
      if (value !== (defaults[name] ?? '')) query[name] = value;
    }
    const href = routeHref(path, query);
    written.current = href.split('?')[1] ?? '';
    if (window.location.hash !== href) window.location.hash = href;
  };

  return {
    values,
    set(name, value, typing = false) {
      current.current = { ...current.current, [name]: value };
      setValues(current.current);
      clearTimeout(timer.current);
      if (typing) timer.current = setTimeout(apply, TEXT_DEBOUNCE_MS);
      else apply();
    },
    flush: () => {
      if (timer.current !== undefined) apply();
    },
  };
}
