import { useEffect, useState } from 'preact/hooks';

/** A value several components follow (preferences, connection state): read, set, subscribe. */
export interface Store<T> {
  get(): T;
  set(value: T): void;
  subscribe(listener: (value: T) => void): () => void;
}

export function createStore<T>(initial: T): Store<T> {
  let value = initial;
  const listeners = new Set<(value: T) => void>();
  return {
    get: () => value,
    set(next) {
      if (Object.is(next, value)) return;
      value = next;
      for (const listener of listeners) listener(value);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** Re-renders the component when the store changes. */
export function useStore<T>(store: Store<T>): T {
  const [value, setValue] = useState(store.get());
  useEffect(() => {
    setValue(store.get());
    return store.subscribe(setValue);
  }, [store]);
  return value;
}

/** A store kept in localStorage under `agentcore-task.<name>`, accepting only the listed values. */
export function persistedStore<T extends string>(name: string, allowed: readonly T[], fallback: T): Store<T> {
  const key = `agentcore-task.${name}`;
  let saved: string | null = null;
  try {
    saved = localStorage.getItem(key);
  } catch {
    // Storage disabled (privacy mode): the choice lasts for this page only.
  }
  const store = createStore<T>(allowed.includes(saved as T) ? (saved as T) : fallback);
  store.subscribe((value) => {
    try {
      localStorage.setItem(key, value);
    } catch {
      // As above.
    }
  });
  return store;
}
