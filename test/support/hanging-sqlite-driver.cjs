// A better-sqlite3 stand-in for the checkpointer's worker whose checkpoint never returns, as one
// stuck in an fsync of a hung disk does (a real SQLite cannot be made to hang on demand). Before it
// blocks it creates `${file}.stuck`, so a test knows the checkpoint is in flight.
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS: the worker loads its driver with require(), as it does better-sqlite3 */
const { writeFileSync } = require('node:fs');

module.exports = class HangingDatabase {
  constructor(file) {
    this.file = file;
  }

  pragma(source) {
    if (source.startsWith('wal_checkpoint')) {
      writeFileSync(`${this.file}.stuck`, '');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
    }
    return [{ log: 0 }];
  }

  close() {}
};
