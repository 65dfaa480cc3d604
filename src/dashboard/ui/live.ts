/**
 * Data that stays true while the page is open: read from the API, then re-read after the stream says something
 * changed. Re-reading the page shown (instead of adding and subtracting events locally) keeps counts and rows exact
 * however many runs change at once; reads are coalesced so a burst costs a few reads a second, and the last event is
 * always followed by a read.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, openStream, type StreamEvent } from './api.js';
import { createStore } from './store.js';

export type LiveState = 'live' | 'reconnecting' | 'closed';

/** The state of the stream of the view shown (the header's indicator). */
export const liveState = createStore<LiveState>('closed');

/** Shortest time between two reads of one view. 400 ms: at most 2.5 reads a second during a burst. */
export const MIN_READ_INTERVAL_MS = 400;
/** Retry of a read that found the server unreachable. */
export const RETRY_MS = 2000;

export interface LiveOptions<T> {
  /** Reads again from scratch when this changes (the filters). */
  key: string;
  load: () => Promise<T>;
  /** The stream whose events trigger a re-read; none: only `pollMs` and retries. */
  stream?: { path: string; query: Record<string, string | undefined> } | null;
  /** Applies an event to the data shown at once, before the re-read (e.g. a visible row's progress). */
  patch?: (data: T, event: StreamEvent) => T;
  /** Whether an event should trigger a re-read at all. @defaultValue every `execution` and `deleted` event */
  triggers?: (event: StreamEvent) => boolean;
  /** Also re-read this often while the page is visible. */
  pollMs?: number;
  minIntervalMs?: number;
}

export interface Live<T> {
  data: T | null;
  error: ApiError | null;
  loading: boolean;
  /** Re-read now (coalesced with other reads). */
  reload: () => void;
}

const defaultTriggers = (event: StreamEvent) => event.event === 'execution' || event.event === 'deleted';

export function useLive<T>(options: LiveOptions<T>): Live<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const latest = useRef(options);
  latest.current = options;
  const reloadRef = useRef<() => void>(() => {});

  useEffect(() => {
    const minInterval = options.minIntervalMs ?? MIN_READ_INTERVAL_MS;
    let stopped = false;
    let inFlight = false;
    let pending = false;
    let lastStart = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    setLoading(true);

    const read = async (): Promise<void> => {
      if (stopped) return;
      pending = true;
      if (inFlight || timer) return; // the read in flight, or the one scheduled, runs after this request
      const wait = lastStart + minInterval - Date.now();
      if (wait > 0) {
        timer = setTimeout(() => {
          timer = undefined;
          void read();
        }, wait);
        return;
      }
      pending = false;
      inFlight = true;
      lastStart = Date.now();
      clearTimeout(retry);
      try {
        const value = await latest.current.load();
        if (stopped) return;
        setData(value);
        setError(null);
      } catch (e) {
        if (stopped) return;
        const err = e instanceof ApiError ? e : new ApiError(0, (e as Error).message);
        setError(err);
        if (err.status === 0) retry = setTimeout(() => void read(), RETRY_MS);
      } finally {
        inFlight = false;
        if (!stopped) setLoading(false);
      }
      if (pending && !stopped) void read();
    };
    reloadRef.current = () => void read();
    void read();

    let wasDown = false;
    const stream = options.stream;
    const stop = stream
      ? openStream(
          stream.path,
          stream.query,
          (event) => {
            const { patch, triggers = defaultTriggers } = latest.current;
            if (!triggers(event)) return;
            if (patch) setData((current) => (current === null ? current : patch(current, event)));
            void read();
          },
          (state) => {
            liveState.set(state);
            // Events may have been missed while disconnected: read again once back.
            if (state === 'reconnecting') wasDown = true;
            else if (state === 'live' && wasDown) {
              wasDown = false;
              void read();
            }
          },
        )
      : undefined;

    const poll = options.pollMs
      ? setInterval(() => {
          if (document.visibilityState === 'visible') void read();
        }, options.pollMs)
      : undefined;

    return () => {
      stopped = true;
      clearTimeout(timer);
      clearTimeout(retry);
      clearInterval(poll);
      if (stop) {
        stop();
        liveState.set('closed');
      }
    };
  }, [options.key, options.stream?.path, JSON.stringify(options.stream?.query ?? null)]);

  return { data, error, loading, reload: () => reloadRef.current() };
}

/** The current time, updated every `ms` while `active` (durations of running jobs tick). */
export function useNow(active: boolean, ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [active, ms]);
  return now;
}
