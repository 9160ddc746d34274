import { Buffer } from 'node:buffer';
import type { InArgs } from '@libsql/client';
import {
  createPool,
  LibsqlBatchError,
  LibsqlError,
  PoolError,
  type AdaptiveConnectionPool,
  type PoolConfig,
  type PooledConnection,
} from '../../lib';
import { tempDir } from '../support/helpers';

// One table of bad input and misuse. Each case states what it must end in: a
// typed error (PoolError with its code, or the LibsqlError / TypeError /
// RangeError @libsql/client gives) whose message names the problem, or, for
// inputs the pool converts as @libsql/client does, the value. After every case
// the process is still alive (libsql 0.5 aborts it on several of these inputs
// when they reach it unguarded: a boolean, a lone Buffer or Date), nothing is left
// leased or waiting, and the shared pool answers a SELECT with the right value.

type ErrorClass = abstract new (...args: never[]) => Error;

type Expectation =
  | { error: ErrorClass; code?: string; message: RegExp }
  | { value: unknown };

interface Case {
  name: string;
  run: (ctx: Ctx) => Promise<unknown>;
  expect: Expectation;
}

interface Ctx {
  /** The shared pool: `max: 2`, table `t(id INTEGER PRIMARY KEY, v)`. */
  pool: AdaptiveConnectionPool;
  /** Opens another pool on the same file (closed after the case). */
  otherPool: (config?: Partial<PoolConfig>) => Promise<AdaptiveConnectionPool>;
  /** A URL for a database of its own. */
  freshUrl: () => string;
}

const tmp = tempDir();
let pool: AdaptiveConnectionPool;
let url: string;
let files = 0;
const extraPools: AdaptiveConnectionPool[] = [];

beforeAll(async () => {
  url = tmp.url('shared.db');
  pool = await createPool({ url, max: 2 });
  await pool.execute('CREATE TABLE t(id INTEGER PRIMARY KEY, v)');
});

afterAll(async () => {
  await pool.close();
  tmp.dispose();
});

const ctx: Ctx = {
  get pool() {
    return pool;
  },
  otherPool: async (config = {}) => {
    const other = await createPool({ url, max: 2, ...config });
    extraPools.push(other);
    return other;
  },
  freshUrl: () => tmp.url(`fresh-${files++}.db`),
};

/** Creates a pool from `raw`; one that opens after all is closed again, and reported as the value. */
const open = (raw: unknown): Promise<unknown> =>
  createPool(raw as PoolConfig).then(async (created) => {
    await created.close();
    return 'a pool was created';
  });
const config = (fields: Record<string, unknown>): Promise<unknown> => open({ url: tmp.url('config.db'), ...fields });

const select = (args: InArgs | unknown, sql = 'SELECT ? AS a, ? AS b'): Promise<unknown> =>
  pool.execute({ sql, args: args as InArgs }).then((r) => r.rows.map((row) => Array.from(row)));

const invalidConfig = (field: string): Expectation => ({
  error: PoolError,
  code: 'INVALID_CONFIG',
  message: new RegExp(field),
});

/** Runs `fn` with a lease of the shared pool and always releases it. */
async function withLease<T>(fn: (lease: PooledConnection) => Promise<T>): Promise<T> {
  const lease = await pool.acquire();
  try {
    return await fn(lease);
  } finally {
    lease.release();
  }
}

class Boom extends Error {
  override name = 'Boom';
}

const cases: Case[] = [
  // ---- configuration: INVALID_CONFIG naming the field ----------------------
  { name: 'config: url missing', run: () => config({ url: undefined }), expect: invalidConfig('url') },
  { name: 'config: url empty', run: () => config({ url: '' }), expect: invalidConfig('url') },
  { name: 'config: url not a string', run: () => config({ url: 42 }), expect: invalidConfig('url') },
  {
    name: 'config: url of an unsupported scheme',
    run: () => config({ url: 'postgres://localhost/app' }),
    expect: invalidConfig('url.*postgres'),
  },
  {
    name: 'config: file: url with a host',
    run: () => config({ url: 'file://remotehost/app.db' }),
    expect: invalidConfig('host'),
  },
  { name: 'config: config is null', run: () => open(null), expect: invalidConfig('config') },
  { name: 'config: unknown field', run: () => config({ maxConnections: 5 }), expect: invalidConfig('maxConnections') },
  { name: 'config: min negative', run: () => config({ min: -1 }), expect: invalidConfig('min') },
  { name: 'config: min fractional', run: () => config({ min: 1.5 }), expect: invalidConfig('min') },
  { name: 'config: max zero', run: () => config({ max: 0 }), expect: invalidConfig('max') },
  { name: 'config: max NaN', run: () => config({ max: Number.NaN }), expect: invalidConfig('max') },
  { name: 'config: min above max', run: () => config({ min: 5, max: 2 }), expect: invalidConfig('min.*max') },
  {
    name: 'config: acquireTimeoutMs negative',
    run: () => config({ acquireTimeoutMs: -1 }),
    expect: invalidConfig('acquireTimeoutMs'),
  },
  {
    name: 'config: acquireTimeoutMs a string',
    run: () => config({ acquireTimeoutMs: '100' }),
    expect: invalidConfig('acquireTimeoutMs'),
  },
  { name: 'config: idleTimeoutMs NaN', run: () => config({ idleTimeoutMs: Number.NaN }), expect: invalidConfig('idleTimeoutMs') },
  { name: 'config: maxUses zero', run: () => config({ maxUses: 0 }), expect: invalidConfig('maxUses') },
  { name: 'config: maxWaiters negative', run: () => config({ maxWaiters: -1 }), expect: invalidConfig('maxWaiters') },
  { name: 'config: closeTimeoutMs negative', run: () => config({ closeTimeoutMs: -5 }), expect: invalidConfig('closeTimeoutMs') },
  { name: 'config: busyTimeoutMs fractional', run: () => config({ busyTimeoutMs: 1.5 }), expect: invalidConfig('busyTimeoutMs') },
  { name: 'config: wal not a boolean', run: () => config({ wal: 'yes' }), expect: invalidConfig('wal') },
  { name: 'config: intMode unknown', run: () => config({ intMode: 'float' }), expect: invalidConfig('intMode') },
  { name: 'config: authToken not a string', run: () => config({ authToken: 123 }), expect: invalidConfig('authToken') },
  { name: 'config: statementCache a string', run: () => config({ statementCache: 'big' }), expect: invalidConfig('statementCache') },
  {
    name: 'config: statementCache.maxSize negative',
    run: () => config({ statementCache: { maxSize: -1 } }),
    expect: invalidConfig('maxSize'),
  },
  {
    name: 'config: statementCache unknown field',
    run: () => config({ statementCache: { ttl: 60 } }),
    expect: invalidConfig('ttl'),
  },
  {
    name: 'config: maxUses on :memory: (would erase the database)',
    run: () => config({ url: ':memory:', maxUses: 5 }),
    expect: invalidConfig('maxUses'),
  },

  // ---- statement arguments -------------------------------------------------
  { name: 'args: booleans are bound as 1 and 0', run: () => select([true, false]), expect: { value: [[1, 0]] } },
  {
    name: 'args: booleans in a named map are bound as 1 and 0',
    run: () => select({ a: true, b: false }, 'SELECT :a AS a, :b AS b'),
    expect: { value: [[1, 0]] },
  },
  {
    name: 'args: a Date is bound as its milliseconds',
    run: () => select([new Date(Date.UTC(2024, 0, 2)), 1]),
    expect: { value: [[Date.UTC(2024, 0, 2), 1]] },
  },
  {
    name: 'args: too many positional arguments are ignored, as @libsql/client does',
    run: () => select([1, 2, 3, 4]),
    expect: { value: [[1, 2]] },
  },
  {
    name: 'args: too few positional arguments bind NULL, even on a cached statement that had them',
    run: async () => {
      await select([7, 8]);
      return select([9]);
    },
    expect: { value: [[9, null]] },
  },
  {
    name: 'args: undefined positional argument',
    run: () => select([1, undefined]),
    expect: { error: TypeError, message: /undefined/ },
  },
  {
    name: 'args: undefined in a named map',
    run: () => select({ a: 1, b: undefined }, 'SELECT :a AS a, :b AS b'),
    expect: { error: TypeError, message: /undefined/ },
  },
  {
    name: 'args: a hole in a sparse array',
    // eslint-disable-next-line no-sparse-arrays
    run: () => select([, 1]),
    expect: { error: TypeError, message: /undefined/ },
  },
  {
    name: 'args: a bare Buffer as the arguments',
    run: () => select(Buffer.from('ab')),
    expect: { error: PoolError, code: 'INVALID_ARGUMENT', message: /array or a plain object.*Uint8Array/ },
  },
  {
    name: 'args: a bare Date as the arguments',
    run: () => select(new Date()),
    expect: { error: PoolError, code: 'INVALID_ARGUMENT', message: /array or a plain object.*Date/ },
  },
  {
    name: 'args: a bigint beyond 64 bits',
    run: () => select([2n ** 70n, 1]),
    expect: { error: RangeError, message: /64-bit/ },
  },
  { name: 'args: NaN', run: () => select([Number.NaN, 1]), expect: { error: RangeError, message: /finite/ } },
  {
    name: 'args: Infinity',
    run: () => select([Number.POSITIVE_INFINITY, 1]),
    expect: { error: RangeError, message: /finite/ },
  },
  {
    name: 'args: a Symbol',
    run: () => select([Symbol('x'), 1]),
    expect: { error: PoolError, code: 'INVALID_ARGUMENT', message: /Cannot bind Symbol/ },
  },
  {
    name: 'args: a plain object inside the array',
    run: () => select([{ nested: true }, 1]),
    expect: { error: PoolError, code: 'INVALID_ARGUMENT', message: /Cannot bind \[object Object\]/ },
  },
  {
    name: 'args: named arguments for bare ? parameters',
    run: () => select({ a: 1, b: 2 }),
    expect: { error: PoolError, code: 'INVALID_ARGUMENT', message: /Named arguments.*positional/ },
  },
  {
    name: 'args: named arguments for a statement with an index gap (?2 without ?1)',
    run: () => select({ a: 1 }, 'SELECT ?2 AS a'),
    expect: { error: PoolError, code: 'INVALID_ARGUMENT', message: /Named arguments/ },
  },
  {
    name: 'result: an integer beyond 2^53 in intMode "number"',
    run: () => select([], 'SELECT 9007199254740993 AS a'),
    expect: { error: RangeError, message: /safely represented/ },
  },

  // ---- statements and SQL ----------------------------------------------------
  {
    name: 'sql: syntax error',
    run: () => pool.execute('SELEC 1'),
    expect: { error: LibsqlError, code: 'SQLITE_ERROR', message: /syntax error/ },
  },
  {
    name: 'sql: no such table',
    run: () => pool.execute('SELECT * FROM missing_table'),
    expect: { error: LibsqlError, code: 'SQLITE_ERROR', message: /no such table: missing_table/ },
  },
  {
    name: 'sql: an empty statement (whitespace and comments only)',
    run: () => pool.execute('  -- nothing here\n  '),
    expect: { error: PoolError, code: 'INVALID_ARGUMENT', message: /empty/ },
  },
  {
    // SQLite reads an unterminated comment to the end of the text, and prepares nothing.
    name: 'sql: an empty statement (an unterminated comment only)',
    run: () => pool.execute('/* nothing here, and no end'),
    expect: { error: PoolError, code: 'INVALID_ARGUMENT', message: /empty/ },
  },
  {
    name: 'sql: UNIQUE constraint',
    run: async () => {
      await pool.execute({ sql: 'INSERT INTO t(id, v) VALUES (?, ?)', args: [1000, 'x'] });
      return pool.execute({ sql: 'INSERT INTO t(id, v) VALUES (?, ?)', args: [1000, 'y'] });
    },
    expect: { error: LibsqlError, code: 'SQLITE_CONSTRAINT', message: /UNIQUE constraint failed: t\.id/ },
  },
  {
    name: 'sql: COMMIT with no transaction',
    run: () => pool.execute('COMMIT'),
    expect: { error: LibsqlError, code: 'SQLITE_ERROR', message: /no transaction is active/ },
  },
  {
    name: 'sql: BEGIN inside pool.transaction',
    run: () => pool.transaction((tx) => tx.execute('BEGIN')),
    expect: { error: LibsqlError, code: 'SQLITE_ERROR', message: /within a transaction/ },
  },
  {
    name: 'sql: a failing statement in a batch rolls the batch back and names its index',
    run: async () => {
      const error = await pool
        .batch([
          { sql: 'INSERT INTO t(id, v) VALUES (?, ?)', args: [2000, 'batch'] },
          'INSERT INTO no_such_table VALUES (1)',
        ])
        .catch((e: unknown) => e);
      const kept = await pool.execute({ sql: 'SELECT count(*) AS n FROM t WHERE id = ?', args: [2000] });
      expect(kept.rows[0]!.n).toBe(0);
      expect(error).toMatchObject({ statementIndex: 1 });
      throw error;
    },
    expect: { error: LibsqlBatchError, code: 'SQLITE_ERROR', message: /no such table: no_such_table/ },
  },
  {
    name: 'sql: executeMultiple with a syntax error',
    run: () => withLease((lease) => lease.executeMultiple('SELECT 1; SELEC 2;')),
    expect: { error: LibsqlError, code: 'SQLITE_ERROR', message: /syntax error/ },
  },
  {
    name: 'call: a statement that is a number',
    run: () => pool.execute(42 as unknown as string),
    expect: { error: PoolError, code: 'INVALID_ARGUMENT', message: /SQL string or \{ sql, args \}.*42/ },
  },
  {
    name: 'call: { sql } that is not a string',
    run: () => pool.execute({ sql: 42 } as unknown as string),
    expect: { error: PoolError, code: 'INVALID_ARGUMENT', message: /SQL string or \{ sql, args \}/ },
  },
  {
    name: 'call: batch() of a string',
    run: () => pool.batch('SELECT 1' as unknown as string[]),
    expect: { error: PoolError, code: 'INVALID_ARGUMENT', message: /array of statements/ },
  },
  {
    name: 'call: executeMultiple() of a number',
    run: () => withLease((lease) => lease.executeMultiple(42 as unknown as string)),
    expect: { error: PoolError, code: 'INVALID_ARGUMENT', message: /SQL string/ },
  },
  {
    name: 'call: transaction() in an unknown mode',
    run: () => pool.transaction(async () => 1, 'sideways' as 'write'),
    expect: { error: RangeError, message: /transaction mode/ },
  },
  {
    name: 'call: acquire() with a negative timeoutMs',
    run: () => pool.acquire({ timeoutMs: -1 }),
    expect: { error: PoolError, code: 'INVALID_ARGUMENT', message: /timeoutMs/ },
  },
  {
    name: 'call: acquire() with timeoutMs NaN',
    run: () => pool.acquire({ timeoutMs: Number.NaN }),
    expect: { error: PoolError, code: 'INVALID_ARGUMENT', message: /timeoutMs/ },
  },
  {
    name: 'call: acquire() with a signal that already aborted',
    run: () => pool.acquire({ signal: AbortSignal.abort() }),
    expect: { error: PoolError, code: 'ACQUIRE_ABORTED', message: /aborted/ },
  },
  {
    name: 'call: setCleanupCallback() with a non-function',
    run: async () => pool.setCleanupCallback('not a function' as unknown as () => void),
    expect: { error: PoolError, code: 'INVALID_ARGUMENT', message: /function/ },
  },

  // ---- misuse -----------------------------------------------------------------
  {
    name: 'misuse: double release (and destroy after release) are no-ops',
    run: async () => {
      const before = pool.stats().totals;
      const lease = await pool.acquire();
      lease.release();
      lease.release();
      lease.destroy();
      const after = pool.stats().totals;
      return { released: after.released - before.released, destroyed: after.closed.destroyed - before.closed.destroyed };
    },
    expect: { value: { released: 1, destroyed: 0 } },
  },
  {
    name: 'misuse: a lease used after release',
    run: async () => {
      const lease = await pool.acquire();
      lease.release();
      return lease.execute('SELECT 1');
    },
    expect: { error: PoolError, code: 'LEASE_RELEASED', message: /already released/ },
  },
  {
    name: 'misuse: inTransaction() on a released lease',
    run: async () => {
      const lease = await pool.acquire();
      lease.release();
      return lease.inTransaction();
    },
    expect: { error: PoolError, code: 'LEASE_RELEASED', message: /already released/ },
  },
  {
    name: "misuse: releasing pool A's lease after pool B is used returns it to A only",
    run: async (c) => {
      const a = await c.otherPool({ max: 1 });
      const b = await c.otherPool({ max: 1 });
      const leaseA = await a.acquire();
      const leaseB = await b.acquire();
      await leaseB.execute('SELECT 1');
      leaseB.release();
      leaseA.release();
      leaseA.release();
      const again = await b.acquire();
      const sameB = again.connectionId === leaseB.connectionId;
      again.release();
      return {
        differentIds: leaseA.connectionId !== leaseB.connectionId,
        sameB,
        a: { idle: a.stats().idle, released: a.stats().totals.released },
        b: { idle: b.stats().idle, released: b.stats().totals.released },
      };
    },
    expect: { value: { differentIds: true, sameB: true, a: { idle: 1, released: 1 }, b: { idle: 1, released: 2 } } },
  },
  {
    name: 'misuse: acquire() after close()',
    run: async (c) => {
      const other = await c.otherPool();
      await other.close();
      return other.acquire();
    },
    expect: { error: PoolError, code: 'POOL_CLOSED', message: /closed/ },
  },
  {
    name: 'misuse: execute() after close()',
    run: async (c) => {
      const other = await c.otherPool();
      await other.close();
      return other.execute('SELECT 1');
    },
    expect: { error: PoolError, code: 'POOL_CLOSED', message: /closed/ },
  },
  {
    name: 'misuse: close() twice returns the same promise and does not throw',
    run: async (c) => {
      const other = await c.otherPool();
      const first = other.close();
      const second = other.close();
      await Promise.all([first, second]);
      return first === second && other.close() === first;
    },
    expect: { value: true },
  },
  {
    name: 'misuse: acquire() beyond maxWaiters',
    run: async (c) => {
      const other = await c.otherPool({ max: 1, maxWaiters: 0 });
      const held = await other.acquire();
      try {
        return await other.acquire();
      } finally {
        held.release();
      }
    },
    expect: { error: PoolError, code: 'POOL_EXHAUSTED', message: /waiting/ },
  },
  {
    name: 'misuse: a lease held past acquire timeout by another caller',
    run: async (c) => {
      const other = await c.otherPool({ max: 1 });
      const held = await other.acquire();
      try {
        return await other.acquire({ timeoutMs: 1 });
      } finally {
        held.release();
      }
    },
    expect: { error: PoolError, code: 'ACQUIRE_TIMEOUT', message: /within 1 ms/ },
  },
  {
    name: 'misuse: a transaction callback that throws rolls back and rethrows',
    run: async () => {
      const error = await pool
        .transaction(async (tx) => {
          await tx.execute({ sql: 'INSERT INTO t(id, v) VALUES (?, ?)', args: [3000, 'tx'] });
          throw new Boom('boom: the callback failed');
        })
        .catch((e: unknown) => e);
      const kept = await pool.execute({ sql: 'SELECT count(*) AS n FROM t WHERE id = ?', args: [3000] });
      expect(kept.rows[0]!.n).toBe(0);
      throw error;
    },
    expect: { error: Boom, message: /boom: the callback failed/ },
  },
  {
    name: 'misuse: a transaction callback that never awaits its queries (they run before COMMIT on a local file)',
    run: async () => {
      await pool.transaction((tx) => {
        void tx.execute({ sql: 'INSERT INTO t(id, v) VALUES (?, ?)', args: [4000, 'unawaited'] });
        void tx.execute({ sql: 'INSERT INTO t(id, v) VALUES (?, ?)', args: [4001, 'unawaited'] });
      });
      const rows = await pool.execute('SELECT id FROM t WHERE id IN (4000, 4001) ORDER BY id');
      return { ids: rows.rows.map((r) => r.id), active: pool.stats().active };
    },
    expect: { value: { ids: [4000, 4001], active: 0 } },
  },
  {
    name: 'misuse: a transaction handle kept and used after the transaction',
    run: async () => {
      let kept: PooledConnection | undefined;
      await pool.transaction(async (tx) => {
        kept = tx;
      });
      return kept!.execute('SELECT 1');
    },
    expect: { error: PoolError, code: 'LEASE_RELEASED', message: /already released/ },
  },
  {
    name: "misuse: a write left waiting for a lock by a callback that did not await it never runs inside the next holder's transaction",
    run: async (c) => {
      // A short busy timeout: the pool may keep the connection until the write gives up.
      const other = await c.otherPool({ min: 2, max: 2, busyTimeoutMs: 200 });
      await other.execute('CREATE TABLE IF NOT EXISTS w(v)');
      const locker = await other.acquire();
      await locker.execute('BEGIN IMMEDIATE'); // holds the write lock
      let inFlight!: Promise<unknown>;
      await other.use((lease) => {
        // forgot `await`: the INSERT meets SQLITE_BUSY and is retried from a timer
        inFlight = lease.execute('INSERT INTO w VALUES (1)');
      });
      const outcome = inFlight.then(
        () => 'resolved',
        (e: unknown) => e,
      );
      const next = await other.acquire();
      await next.execute('BEGIN');
      locker.release(); // frees the lock: the retried INSERT runs now
      await outcome;
      const seenByNext = (await next.execute('SELECT count(*) AS n FROM w')).rows[0]!.n;
      await next.execute('ROLLBACK');
      next.release();
      const persisted = (await other.execute('SELECT count(*) AS n FROM w')).rows[0]!.n;
      return {
        // The next holder's transaction is its own: it must not contain the old lease's write,
        seenByNext,
        // and a write reported as done must not vanish with someone else's ROLLBACK.
        reportedDoneButLost: (await outcome) === 'resolved' && persisted === 0,
      };
    },
    expect: { value: { seenByNext: 0, reportedDoneButLost: false } },
  },
];

describe('bad input and misuse: typed errors, process alive, pool still serving', () => {
  test('the table has at least 40 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  let serial = 0;
  afterEach(async () => {
    for (const other of extraPools.splice(0)) await other.close({ timeoutMs: 0 });
  });

  test.each(cases)('$name', async (c) => {
    const outcome = await c.run(ctx).then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    if ('error' in c.expect) {
      if (outcome.ok) throw new Error(`expected ${c.expect.error.name}, got the value ${JSON.stringify(outcome.value)}`);
      const error = outcome.error as Error & { code?: string };
      expect(error).toBeInstanceOf(c.expect.error);
      if (c.expect.code !== undefined) expect(error.code).toBe(c.expect.code);
      expect(error.message).toMatch(c.expect.message);
    } else {
      if (!outcome.ok) throw outcome.error;
      expect(outcome.value).toEqual(c.expect.value);
    }
    // The pool still serves the next request, with nothing left leased or waiting.
    const value = ++serial * 7;
    const result = await pool.execute({ sql: 'SELECT ? AS v', args: [value] });
    expect(result.rows[0]!.v).toBe(value);
    expect(pool.stats()).toMatchObject({ active: 0, waiting: 0 });
  });
});
