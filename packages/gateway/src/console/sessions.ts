import { randomBytes, timingSafeEqual } from 'node:crypto';

export interface ConsoleSession {
  id: string;
  /** Who is acting, as journaled with each action: the name given at login and the address. */
  actor: string;
  /** Sent back in `x-csrf-token` with every action; never in a cookie. */
  csrf: string;
  expiresAt: number;
}

/** The cookie that carries a session id: HttpOnly, SameSite=Strict, scoped to /console. */
export const COOKIE = 'bw_console';
const IDLE_MS = 30 * 60_000;
const MAX_SESSIONS = 64;

/**
 * Console sessions, in memory: random ids, an idle expiry, a bound on how many exist (the oldest
 * goes first). A restart logs everyone out, which is what an admin console should do.
 */
export class ConsoleSessions {
  private readonly sessions = new Map<string, ConsoleSession>();

  constructor(private readonly now: () => number = Date.now) {}

  create(actor: string): ConsoleSession {
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    const session = {
      id: randomBytes(32).toString('base64url'),
      actor,
      csrf: randomBytes(32).toString('base64url'),
      expiresAt: this.now() + IDLE_MS,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session behind a Cookie header, its idle expiry pushed back; undefined otherwise. */
  fromCookie(header: string | undefined): ConsoleSession | undefined {
    const id = cookieValue(header, COOKIE);
    const session = id === undefined ? undefined : this.sessions.get(id);
    if (!session) return undefined;
    if (session.expiresAt <= this.now()) {
      this.sessions.delete(session.id);
      return undefined;
    }
    session.expiresAt = this.now() + IDLE_MS;
    return session;
  }

  end(id: string): void {
    this.sessions.delete(id);
  }
}

/** Constant-time comparison of a presented CSRF token with the session's. */
export function csrfMatches(session: ConsoleSession, presented: unknown): boolean {
  if (typeof presented !== 'string') return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(session.csrf);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}
