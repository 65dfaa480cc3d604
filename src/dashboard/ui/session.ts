/**
 * Who is signed in (from `GET dashboard/session`, which answers 200 signed in or not, so signing in logs no failed
 * request) and the scope of every view: admins (`can_view_all`) see all users' runs unless the URL says
 * `scope=mine`; everyone else sees their own.
 */
import { api } from './api.js';
import { createStore } from './store.js';

export interface Session {
  signed_in: boolean;
  user: { id: string | number; username: string | null } | null;
  can_view_all: boolean;
  is_admin: boolean;
  /** Retry/Cancel buttons: an admin, and the instance's queue source can do both. */
  actions?: boolean;
}

export const session = createStore<Session | null>(null);

export function readSession(): Promise<Session> {
  return api<Session>('dashboard/session');
}

export type Scope = 'all' | 'mine';

export function canViewAll(): boolean {
  return session.get()?.can_view_all === true;
}

/** The scope a URL asks for; the default (no `scope`) is all users for those who may see them. */
export function scopeOf(query: URLSearchParams): Scope {
  if (!canViewAll()) return 'mine';
  return query.get('scope') === 'mine' ? 'mine' : 'all';
}

/** The `scope` URL parameter for a scope: absent when it is the default. */
export function scopeParam(scope: Scope): string | undefined {
  return canViewAll() && scope === 'mine' ? 'mine' : undefined;
}

/** The API's parameter for a scope (`my_tasks=false` for all users). */
export function apiScope(scope: Scope): Record<string, string | undefined> {
  return scope === 'all' && canViewAll() ? { my_tasks: 'false' } : {};
}
