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

/** A change to the sessions, as sent to the other processes of a gateway (server.workers). */
export type SessionChange = { kind: 'set'; session: ConsoleSession } | { kind: 'end'; id: string };

/** How the workers of one gateway tell each other of logins, activity and logouts. */
export interface SessionReplication {
  send(change: SessionChange): void;
  /** Calls `apply` for changes made by the other processes. */
  receive(apply: (change: SessionChange) => void): void;
}

/** A process tells the others that a session is still in use at most this often. */
const TOUCH_EVERY_MS = 60_000;

/**
 * Console sessions, in memory: random ids, an idle expiry, a bound on how many exist (the oldest
 * goes first). A restart logs everyone out, which is what an admin console should do. With
 * several workers each keeps a copy: logins, logouts and (once a minute) activity are replicated,
 * so whichever worker takes a connection knows the session.
 */
export class ConsoleSessions {
  private readonly sessions = new Map<string, ConsoleSession>();
  private readonly toldAt = new Map<string, number>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly replication?: SessionReplication,
  ) {
    replication?.receive((change) => this.apply(change));
  }

  create(actor: string): ConsoleSession {
    const session = {
      id: randomBytes(32).toString('base64url'),
      actor,
      csrf: randomBytes(32).toString('base64url'),
      expiresAt: this.now() + IDLE_MS,
    };
    this.set(session);
    this.tell(session);
    return session;
  }

  /** The live session behind a Cookie header, its idle expiry pushed back; undefined otherwise. */
  fromCookie(header: string | undefined): ConsoleSession | undefined {
    const id = cookieValue(header, COOKIE);
    const session = id === undefined ? undefined : this.sessions.get(id);
    if (!session) return undefined;
    if (session.expiresAt <= this.now()) {
      this.forget(session.id);
      return undefined;
    }
    session.expiresAt = this.now() + IDLE_MS;
    if (this.now() - (this.toldAt.get(session.id) ?? 0) >= TOUCH_EVERY_MS) this.tell(session);
    return session;
  }

  end(id: string): void {
    this.forget(id);
    this.replication?.send({ kind: 'end', id });
  }

  private apply(change: SessionChange): void {
    if (change.kind === 'end') this.forget(change.id);
    else this.set(change.session);
  }

  private set(session: ConsoleSession): void {
    if (!this.sessions.has(session.id) && this.sessions.size >= MAX_SESSIONS)
      this.forget(this.sessions.keys().next().value!);
    this.sessions.set(session.id, { ...session });
  }

  private forget(id: string): void {
    this.sessions.delete(id);
    this.toldAt.delete(id);
  }

  private tell(session: ConsoleSession): void {
    if (!this.replication) return;
    this.toldAt.set(session.id, this.now());
    this.replication.send({ kind: 'set', session: { ...session } });
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
