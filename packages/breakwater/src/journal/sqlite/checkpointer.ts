import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** Runs in the worker, as CommonJS: one connection of its own that only checkpoints. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const describe = (error) => String((error && error.message) || error);
let db;
try {
  const Database = require(workerData.driver);
  db = new Database(workerData.file, { fileMustExist: true });
  db.pragma('busy_timeout = 1000');
} catch (error) {
  parentPort.postMessage({ ok: false, message: describe(error) });
  parentPort.close();
}
if (db) parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    parentPort.postMessage({ ok: true, result: db.pragma('wal_checkpoint(PASSIVE)')[0] });
  } catch (error) {
    parentPort.postMessage({ ok: false, message: describe(error) });
  }
});
`;

export interface CheckpointerOptions {
  /** The database file (its WAL is `${file}-wal`). */
  file: string;
  /**
   * How often at most a checkpoint starts (ms). Default 1,000. After each, the next commit restarts
   * the WAL, and in that commit SQLite fsyncs the WAL header on the event loop: once a second, not
   * once a checkpoint of SQLite's default (every 1,000 WAL pages, ~0.4 s in a gateway at 1,000 req/s).
   */
  intervalMs?: number;
  /** The checkpointer failed: the store's own connection must checkpoint again (autocheckpoint). */
  onFailure: (error: Error) => void;
  /**
   * The WAL still held more than `maxWalFrames` frames after a checkpoint. A checkpoint racing
   * writes that never pause cannot finish, and only a finished one lets the next write restart the
   * WAL: the writer's own connection must checkpoint once, between its commits, to bound the file.
   */
  onBacklog?: (walFrames: number) => void;
  /** Default 10,000 (~40 MB of 4 KB pages; SQLite's own checkpoints start at 1,000). */
  maxWalFrames?: number;
  /** The clock `intervalMs` is measured on (ms); injected by tests. */
  now?: () => number;
  /**
   * How long `close` waits for a checkpoint in flight (ms). Default 5,000. A checkpoint stuck in an
   * fsync of a hung disk must not hold the journal's close, and with it a gateway's shutdown: past
   * this, the worker is terminated (as soon as it can be) and `close` returns.
   */
  closeTimeoutMs?: number;
  /** The better-sqlite3 module the worker loads (a path for `require`). Default: the one this package resolves. */
  driver?: string;
}

/**
 * Runs a WAL database's checkpoints on a worker thread with a connection of its own. A checkpoint
 * copies the WAL's pages into the database file and fsyncs it; SQLite runs one inside whichever
 * commit crosses 1,000 WAL pages, and better-sqlite3 is synchronous, so the event loop waited for
 * it. The store's connection runs with `wal_autocheckpoint=0` instead and asks for a PASSIVE
 * checkpoint after commits, at most once a second (`intervalMs`) and one at a time; PASSIVE never
 * blocks the store's writes. The worker starts at the first checkpoint. If it fails, `onFailure`
 * hands checkpoints back to the store's connection.
 */
export class Checkpointer {
  private worker: Worker | undefined;
  private running = false;
  private failed = false;
  private closed = false;
  private exited = false;
  private lastStarted: number;
  private readonly now: () => number;
  private readonly intervalMs: number;
  private readonly maxWalFrames: number;
  private readonly closeTimeoutMs: number;

  constructor(private readonly options: CheckpointerOptions) {
    this.now = options.now ?? (() => performance.now());
    this.intervalMs = options.intervalMs ?? 1_000;
    if (!(this.intervalMs >= 0))
      throw new TypeError(`Expected \`intervalMs\` to be a number ≥ 0, got ${options.intervalMs}.`);
    this.maxWalFrames = options.maxWalFrames ?? 10_000;
    this.closeTimeoutMs = options.closeTimeoutMs ?? 5_000;
    if (!(this.closeTimeoutMs >= 0))
      throw new TypeError(`Expected \`closeTimeoutMs\` to be a number ≥ 0, got ${options.closeTimeoutMs}.`);
    this.lastStarted = this.now();
  }

  /** After a commit: starts a checkpoint unless one runs or one started less than `intervalMs` ago. */
  afterCommit(): void {
    if (this.running || this.failed || this.closed) return;
    const now = this.now();
    if (now - this.lastStarted < this.intervalMs) return;
    this.lastStarted = now;
    this.running = true;
    (this.worker ??= this.start()).postMessage('checkpoint');
  }

  /**
   * Lets a checkpoint in flight finish, then closes the worker's connection; past `closeTimeoutMs`,
   * terminates the worker instead and returns.
   */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    if (!worker || this.exited) return;
    let deadline: NodeJS.Timeout | undefined;
    const exited = new Promise<boolean>((resolve) => worker.once('exit', () => resolve(true)));
    const timedOut = new Promise<boolean>((resolve) => (deadline = setTimeout(resolve, this.closeTimeoutMs, false)));
    // Held by the close: an unref'd worker alone would let the process end before it exits.
    worker.ref();
    worker.postMessage('close');
    const closedInTime = await Promise.race([exited, timedOut]);
    clearTimeout(deadline);
    if (closedInTime) return;
    // Native code (an fsync) cannot be interrupted: the thread stops when it returns to JavaScript,
    // and until then it must not keep the process alive.
    worker.unref();
    void worker.terminate();
  }

  private start(): Worker {
    const driver = this.options.driver ?? createRequire(import.meta.url).resolve('better-sqlite3');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file: this.options.file, driver } });
    worker.on('message', (reply: { ok: boolean; message?: string; result?: { log: number } }) => {
      this.running = false;
      if (!reply.ok) return this.fail(new Error(`WAL checkpoint failed: ${reply.message}`));
      const frames = reply.result?.log ?? 0;
      if (frames > this.maxWalFrames && !this.closed) this.options.onBacklog?.(frames);
    });
    // What a worker throws arrives structured-cloned: a driver's own error class may lose its message.
    worker.on('error', (error: unknown) =>
      this.fail(
        error instanceof Error && error.message ? error : new Error(`The checkpoint worker failed: ${String(error)}`),
      ),
    );
    worker.on('exit', (code) => {
      this.exited = true;
      if (!this.closed) this.fail(new Error(`The checkpoint worker exited (code ${code}).`));
    });
    // After the listeners: adding a 'message' listener refs the worker's port again.
    worker.unref();
    return worker;
  }

  private fail(error: Error): void {
    if (this.failed || this.closed) return;
    this.failed = true;
    this.running = false;
    void this.worker?.terminate();
    this.options.onFailure(error);
  }
}
