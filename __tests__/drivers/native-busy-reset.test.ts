import { LibsqlError } from '@libsql/client';
import { createPool, createPooledClient, PoolError, type AdaptiveConnectionPool, type CloseEvent, type PooledConnection } from '../../lib';
import { tempDir, withPool } from '../support/helpers';

// A statement that fails with SQLITE_BUSY is left half-run by libsql 0.5
// (which has no reset): until it runs again, or the garbage collector
// finalizes it, its connection's later writes are not committed, and they are
// rolled back when it is reset. The client acknowledges them all the same.
// These tests hold the pool to never acknowledging a write it will lose.

/** Tags in `t` as a fresh connection of another pool sees them (what is committed). */
async function committed(url: string): Promise<number[]> {
  // wal: false leaves the journal mode as the file has it.
  const reader = await createPool({ url, max: 1, wal: false });
  try {
    return (await reader.execute('SELECT tag FROM t ORDER BY tag')).rows.map((r) => r.tag as number);
  } finally {
    await reader.close();
  }
}

interface TwoLeases {
  pool: AdaptiveConnectionPool;
  url: string;
  /** Inside a write transaction that inserted 1. */
  holder: PooledConnection;
  writer: PooledConnection;
}

/** A pool with table `t`, whose first lease holds a write transaction; both leases always go back. */
async function withLockHeld(busyTimeoutMs: number, fn: (ctx: TwoLeases) => Promise<void>): Promise<void> {
  await withPool({ max: 2, busyTimeoutMs }, async (pool, url) => {
    await pool.execute('CREATE TABLE t (tag INTEGER)');
    const holder = await pool.acquire();
    const writer = await pool.acquire();
    try {
      await holder.execute('BEGIN');
      await holder.execute('INSERT INTO t VALUES (1)');
      await fn({ pool, url, holder, writer });
    } finally {
      holder.release();
      writer.release();
    }
  });
}

/** As `withLockHeld`, once the writer's insert of 2 failed with SQLITE_BUSY (`busy`) and the holder rolled back. */
async function withWriteRefused(
  config: { busyTimeoutMs: number; inTransaction?: boolean },
  fn: (ctx: TwoLeases & { busy: unknown }) => Promise<void>,
): Promise<void> {
  await withLockHeld(config.busyTimeoutMs, async (ctx) => {
    if (config.inTransaction === true) await ctx.writer.execute('BEGIN');
    const busy = await ctx.writer.execute('INSERT INTO t VALUES (?)', [2]).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(busy).toBeInstanceOf(LibsqlError);
    expect((busy as LibsqlError).code).toBe('SQLITE_BUSY');
    await ctx.holder.execute('ROLLBACK');
    await fn({ ...ctx, busy });
  });
}

describe('after a write gave up on SQLITE_BUSY', () => {
  test('another statement on that lease is refused with CONNECTION_LOST caused by the SQLITE_BUSY, and writes nothing', async () => {
    await withWriteRefused({ busyTimeoutMs: 0 }, async ({ url, writer, busy }) => {
      const refused = await writer.execute('INSERT INTO t (tag) VALUES (?)', [3]).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(PoolError);
      expect(refused).toMatchObject({ code: 'CONNECTION_LOST', cause: busy });
      expect(await committed(url)).toEqual([]);
    });
  });

  test('the same statement run again on that lease is committed, and the connection stays in the pool', async () => {
    await withWriteRefused({ busyTimeoutMs: 0 }, async ({ pool, url, writer }) => {
      const closed: CloseEvent[] = [];
      pool.on('close', (e) => closed.push(e));
      await writer.execute('INSERT INTO t VALUES (?)', [3]);
      await writer.execute('INSERT INTO t (tag) VALUES (?)', [4]);
      expect(await committed(url)).toEqual([3, 4]);
      writer.release();
      await pool.execute('SELECT 1');
      expect(closed).toEqual([]);
    });
  });

  test('releasing the lease closes its connection with reason error, and the next lease’s writes are committed', async () => {
    await withWriteRefused({ busyTimeoutMs: 0 }, async ({ pool, url, writer, busy }) => {
      const closed: CloseEvent[] = [];
      pool.on('close', (e) => closed.push(e));
      const id = writer.connectionId;
      writer.release();
      await pool.execute('INSERT INTO t (tag) VALUES (?)', [5]);
      await pool.execute('INSERT INTO t (tag) VALUES (?)', [6]);
      expect(closed).toMatchObject([{ connectionId: id, reason: 'error', error: busy }]);
      expect(await committed(url)).toEqual([5, 6]);
    });
  });

  test('inside a transaction, ROLLBACK still runs, and the statements after it are refused', async () => {
    await withWriteRefused({ busyTimeoutMs: 0, inTransaction: true }, async ({ url, writer }) => {
      await writer.execute('ROLLBACK');
      expect(writer.inTransaction()).toBe(false);
      await expect(writer.execute('INSERT INTO t (tag) VALUES (?)', [7])).rejects.toMatchObject({
        code: 'CONNECTION_LOST',
      });
      expect(await committed(url)).toEqual([]);
    });
  });
});

describe('after a BEGIN IMMEDIATE gave up on SQLITE_BUSY', () => {
  test('the pool’s next writes are committed', async () => {
    await withPool({ max: 2, busyTimeoutMs: 0 }, async (pool, url) => {
      await pool.execute('CREATE TABLE t (tag INTEGER)');
      const holder = await pool.acquire();
      try {
        await holder.execute('BEGIN IMMEDIATE');
        await expect(pool.transaction((tx) => tx.execute('INSERT INTO t VALUES (1)'), 'write')).rejects.toMatchObject({
          code: 'SQLITE_BUSY',
        });
        await holder.execute('COMMIT');
        // The holder stays out, so these run where the BEGIN failed (or on its replacement).
        await pool.execute('INSERT INTO t VALUES (?)', [2]);
        await pool.execute('INSERT INTO t VALUES (?)', [3]);
      } finally {
        holder.release();
      }
      expect(await committed(url)).toEqual([2, 3]);
    });
  });
});

describe('the drop-in client, after a write failed with SQLITE_BUSY', () => {
  test('commits its next write, on the same connection', async () => {
    const tmp = tempDir();
    const url = tmp.url();
    const holder = await createPooledClient({ url });
    const writer = await createPooledClient({ url, max: 1 });
    try {
      await holder.execute('CREATE TABLE t (tag INTEGER)');
      const tx = await holder.transaction('write');
      await tx.execute('INSERT INTO t VALUES (1)');
      await expect(writer.execute('INSERT INTO t VALUES (?)', [2])).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
      await tx.rollback();
      await writer.execute({ sql: 'INSERT INTO t (tag) VALUES (?)', args: [3] });
      expect(await committed(url)).toEqual([3]);
    } finally {
      await writer[Symbol.asyncDispose]();
      await holder[Symbol.asyncDispose]();
      tmp.dispose();
    }
  });
});

describe('a statement issued while another on the same lease waits for a lock', () => {
  test('runs after it, and both writes are committed', async () => {
    await withLockHeld(10_000, async ({ url, holder, writer }) => {
      const waiting = writer.execute('INSERT INTO t VALUES (?)', [2]);
      const after = writer.execute('INSERT INTO t (tag) VALUES (?)', [3]);
      await holder.execute('ROLLBACK');
      await Promise.all([waiting, after]);
      expect(await committed(url)).toEqual([2, 3]);
    });
  });
});

describe('a read that met SQLITE_BUSY', () => {
  test('leaves its connection usable: the next write on that lease is committed', async () => {
    const tmp = tempDir();
    // A rollback journal: a reader waits for a writer's exclusive lock there.
    const pool = await createPool({ url: tmp.url(), max: 2, busyTimeoutMs: 0, wal: false });
    try {
      await pool.execute('CREATE TABLE t (tag INTEGER)');
      const holder = await pool.acquire();
      const reader = await pool.acquire();
      try {
        await reader.execute('SELECT tag FROM t');
        await holder.execute('BEGIN EXCLUSIVE');
        await holder.execute('INSERT INTO t VALUES (1)');
        await expect(reader.execute('SELECT tag FROM t')).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
        await holder.execute('COMMIT');
        await reader.execute('INSERT INTO t (tag) VALUES (?)', [2]);
      } finally {
        holder.release();
        reader.release();
      }
      expect(await committed(tmp.url())).toEqual([1, 2]);
      expect(pool.stats().totals.closed.error).toBe(0);
    } finally {
      await pool.close();
      tmp.dispose();
    }
  });
});
