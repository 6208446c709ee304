import { existsSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { Journal, type Operation, type OperationQuery, type JournalStore } from 'breakwater';
import { SqliteJournalStore } from 'breakwater/journal-sqlite';
import { PostgresJournalStore } from 'breakwater/journal-postgres';
import { intFlag, UserError } from './user-error.js';

const STATUSES = ['pending', 'running', 'succeeded', 'failed', 'cancelled'] as const;

export interface OpsFlags {
  journal?: string;
  status?: string;
  kind?: string;
  since?: string;
  correlation?: string;
  limit?: string;
  /** `ops show`: the raw record as JSON instead of the timeline. */
  json?: boolean;
}

/** `breakwater ops list|show`: find what a client saw (the correlation id of every error response). */
export async function ops(args: string[], flags: OpsFlags): Promise<void> {
  const [sub, id, ...extra] = args;
  if (sub !== 'list' && sub !== 'show')
    throw new UserError(`ops ${sub ?? ''}: expected "ops list" or "ops show ID"`.replace('  ', ' '));
  if (sub === 'show' && !id)
    throw new UserError('ops show: which operation? pass its id (breakwater ops list shows them)');
  if (extra.length > 0 || (sub === 'list' && id))
    throw new UserError(`ops ${sub}: unexpected argument "${extra[0] ?? id}"`);
  const journal = new Journal({ store: await openStore(flags.journal ?? 'breakwater.db') });
  try {
    if (sub === 'show') {
      const operation = await journal.get(id!);
      if (!operation) throw new UserError(`no operation ${id} in ${flags.journal ?? 'breakwater.db'}`);
      console.log(flags.json ? JSON.stringify(operation, null, 2) : timeline(operation));
      return;
    }
    for (const o of await journal.query(query(flags))) console.log(line(o));
  } catch (error) {
    const cause = (error as { code?: string; cause?: { code?: string; message?: string } }).cause;
    if ((error as { code?: string }).code === 'JOURNAL_UNAVAILABLE')
      throw new UserError(
        `cannot read the journal at ${flags.journal ?? 'breakwater.db'}: ${cause?.message ?? cause?.code}`,
      );
    throw error;
  } finally {
    await journal.close();
  }
}

function query(flags: OpsFlags): OperationQuery {
  if (flags.status !== undefined && !(STATUSES as readonly string[]).includes(flags.status))
    throw new UserError(`--status ${JSON.stringify(flags.status)}: expected one of ${STATUSES.join(', ')}`);
  return {
    ...(flags.status ? { status: flags.status as (typeof STATUSES)[number] } : {}),
    ...(flags.kind ? { kind: flags.kind } : {}),
    ...(flags.correlation ? { correlationId: flags.correlation } : {}),
    ...(flags.since ? { createdSince: since(flags.since) } : {}),
    limit: intFlag('limit', flags.limit, 20, 1, 10_000),
  };
}

/** `30m`, `2h`, `1d`, or an ISO date. */
function since(value: string): number {
  const relative = /^(\d+)(s|m|h|d)$/.exec(value);
  if (relative) return Date.now() - Number(relative[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[relative[2] as 's'];
  const at = Date.parse(value);
  if (Number.isNaN(at)) throw new UserError(`--since ${JSON.stringify(value)}: expected 30m, 2h, 1d or an ISO date`);
  return at;
}

interface TimelineEntry {
  key: string;
  attempt: number;
  startedAt: number;
  durationMs: number;
  outcome: string;
  category?: string;
  code?: string;
  breaker?: string;
  retryDelayMs?: number;
  retryReason?: string;
}

/** The operation as an operator reads it after an incident: one line per attempt, in order. */
export function timeline(o: Operation): string {
  const result = (o.result ?? {}) as { timeline?: TimelineEntry[]; usage?: unknown; cost?: number; target?: string };
  const head = [
    `${o.id}  ${o.kind}  ${o.status}${o.errorCode ? ` ${o.errorCode}` : ''}  correlation ${o.correlationId ?? '-'}`,
    `  created ${new Date(o.createdAt).toISOString()}${o.finishedAt ? `, finished after ${o.finishedAt - o.createdAt} ms` : ''}`,
  ];
  const start = result.timeline?.[0]?.startedAt ?? o.createdAt;
  const rows = (result.timeline ?? []).map((a) => {
    const what = a.outcome === 'succeeded' ? 'answered' : `${a.outcome} ${a.code ?? ''} (${a.category ?? '?'})`;
    const retry = a.retryDelayMs !== undefined ? `, retry in ${a.retryDelayMs} ms (${a.retryReason})` : '';
    return `  +${String(a.startedAt - start).padStart(6)} ms  ${a.key.padEnd(24)} #${a.attempt}  ${what}  ${a.durationMs} ms${a.breaker ? `, breaker ${a.breaker}` : ''}${retry}`;
  });
  const usage = result.usage
    ? [`  usage ${JSON.stringify(result.usage)}${result.cost !== undefined ? `, cost ${result.cost}` : ''}`]
    : [];
  return [...head, ...(rows.length ? rows : ['  (no attempt trail recorded)']), ...usage].join('\n');
}

function line(o: Operation): string {
  return [
    o.id,
    o.status.padEnd(9),
    o.kind.padEnd(18),
    `attempts=${o.attempts}`,
    (o.errorCode ?? '').padEnd(24),
    new Date(o.createdAt).toISOString(),
    o.correlationId ?? '',
  ].join('  ');
}

/** A SQLite file, or a Postgres connection string. */
async function openStore(where: string): Promise<JournalStore<unknown>> {
  if (/^postgres(ql)?:\/\//.test(where)) {
    const pool = new pg.Pool({ connectionString: where, max: 1, connectionTimeoutMillis: 5_000 });
    pool.on('error', () => undefined);
    const store = new PostgresJournalStore(pool);
    const close = store.close.bind(store);
    store.close = async () => {
      await close();
      await pool.end();
    };
    return store as JournalStore<unknown>;
  }
  if (!existsSync(where)) throw new UserError(`no journal at ${where} (pass --journal FILE or a postgres:// URL)`);
  return new SqliteJournalStore(new BetterSqlite3(where)) as JournalStore<unknown>;
}
