import { LibsqlError, type ResultSet } from '@libsql/client';
import { join } from 'node:path';
import { createDriver, createPool, readUrl, type AdaptiveConnectionPool, type MaxChangeEvent } from '../../lib';
import { NativeDriver } from '../../lib/drivers/native';
import { tempDir, withPool } from '../support/helpers';
import { holdWriteLock, type LockHolder } from '../support/lock-holder';

// `busyTimeoutMs` at connect and at prepare, against a write lock held by
// another process on a rollback-journal file: opening a connection (the WAL
// switch) and preparing a statement on a fresh one (it reads the schema) both
// need a lock that process holds. Both must wait as a statement does: off the
// event loop, up to busyTimeoutMs, then SQLITE_BUSY.

/** Counts turns of the event loop; each `after(n)` resolves once n more have passed. */
function loopTurns() {
  let count = 0;
  const waiting: Array<{ at: number; resolve: () => void }> = [];
  const timer = setInterval(() => {
    count++;
    for (const w of waiting.filter((w) => w.at <= count)) {
      waiting.splice(waiting.indexOf(w), 1);
      w.resolve();
    }
  }, 1);
  return {
    get count() {
      return count;
    },
    after: (n: number) => new Promise<void>((resolve) => waiting.push({ at: count + n, resolve })),
    stop: () => clearInterval(timer),
  };
}

/** What a promise settled with, without leaving a rejection unhandled meanwhile. */
function outcome<T>(promise: Promise<T>) {
  const state: { settled: boolean; result: Promise<{ value?: T; error?: unknown }> } = {
    settled: false,
    result: promise.then(
      (value) => {
        state.settled = true;
        return { value };
      },
      (error: unknown) => {
        state.settled = true;
        return { error };
      },
    ),
  };
  return state;
}

let tmp: ReturnType<typeof tempDir>;
let path: string;
let holder: LockHolder | undefined;
/** Started right before the operation under test: only its own turns count. */
let turns: ReturnType<typeof loopTurns> | undefined;
const pools: AdaptiveConnectionPool[] = [];

beforeEach(() => {
  tmp = tempDir();
  path = join(tmp.dir, 'locked.db');
});

afterEach(async () => {
  turns?.stop();
  turns = undefined;
  await holder?.release();
  holder = undefined;
  await Promise.all(pools.splice(0).map((p) => p.close({ timeoutMs: 0 })));
  tmp.dispose();
});

async function open(config: { wal?: boolean; busyTimeoutMs: number }): Promise<AdaptiveConnectionPool> {
  const pool = await createPool({ url: `file:${path}`, max: 1, ...config });
  pools.push(pool);
  return pool;
}

describe('a new connection under another process’s write lock', () => {
  test('createPool waits while the lock is held and opens once it is released', async () => {
    holder = await holdWriteLock(path);
    turns = loopTurns();
    const opening = outcome(createPool({ url: `file:${path}`, busyTimeoutMs: 10_000 }));
    await turns.after(3);
    expect(opening.settled).toBe(false);
    await holder.release();
    const { value: pool, error } = await opening.result;
    expect(error).toBeUndefined();
    pools.push(pool!);
    expect((await pool!.execute('select count(*) as n from t')).rows[0]!.n).toBe(1);
  });

  test('createPool fails with CONNECT_FAILED caused by SQLITE_BUSY after busyTimeoutMs, the event loop turning meanwhile', async () => {
    holder = await holdWriteLock(path);
    turns = loopTurns();
    const error = await createPool({ url: `file:${path}`, busyTimeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CONNECT_FAILED', cause: { code: 'SQLITE_BUSY' } });
    expect((error as Error).cause).toBeInstanceOf(LibsqlError);
    expect(turns.count).toBeGreaterThan(0);
  });
});

describe('the driver’s connect under another process’s write lock', () => {
  test('stops waiting when its signal aborts, rejecting with the signal’s reason', async () => {
    const driver = new NativeDriver({ path, memory: false, intMode: 'number', busyTimeoutMs: 10_000, wal: true });
    holder = await holdWriteLock(path);
    const controller = new AbortController();
    turns = loopTurns();
    const connecting = outcome(driver.connect(controller.signal));
    await turns.after(3);
    expect(connecting.settled).toBe(false);
    const reason = new Error('the pool is closing');
    controller.abort(reason);
    expect((await connecting.result).error).toBe(reason);
  });
});

/**
 * Takes the write lock in another process, starts `read`, and checks that it
 * waits (the event loop turning) until the lock goes, then reads the row the
 * other process committed.
 */
async function expectToWaitForTheLock(read: () => Promise<ResultSet>): Promise<void> {
  holder = await holdWriteLock(path);
  turns = loopTurns();
  const reading = outcome(read());
  await turns.after(3);
  expect(reading.settled).toBe(false);
  await holder.release();
  const { value, error } = await reading.result;
  expect(error).toBeUndefined();
  expect(value!.rows[0]!.n).toBe(1);
}

describe('a statement prepared on a fresh connection under another process’s write lock', () => {
  test('waits while the lock is held, then reads what the other process committed', async () => {
    const pool = await open({ wal: false, busyTimeoutMs: 10_000 });
    await expectToWaitForTheLock(() => pool.execute('select count(*) as n from t'));
  });

  test('fails with SQLITE_BUSY after busyTimeoutMs, the event loop turning meanwhile', async () => {
    const pool = await open({ wal: false, busyTimeoutMs: 300 });
    holder = await holdWriteLock(path);
    turns = loopTurns();
    const error = await pool.execute('select count(*) from t').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LibsqlError);
    expect(error).toMatchObject({ code: 'SQLITE_BUSY' });
    expect(turns.count).toBeGreaterThan(0);
  });

  test('waits inside a transaction too, since nothing of the statement ran', async () => {
    const pool = await open({ wal: false, busyTimeoutMs: 10_000 });
    const lease = await pool.acquire();
    try {
      await lease.execute('BEGIN');
      await expectToWaitForTheLock(() => lease.execute('select count(*) as n from t'));
      expect(lease.inTransaction()).toBe(true);
      await lease.execute('COMMIT');
    } finally {
      lease.release();
    }
  });
});

describe('a lock held by another lease of the same pool, as back-pressure', () => {
  /** One write refused by a lock another lease holds; what the pool concluded from it. */
  async function writeUnderLock(busyTimeoutMs: number) {
    return withPool({ max: 4, busyTimeoutMs }, async (p) => {
      await p.execute('CREATE TABLE t (x)');
      const seen: MaxChangeEvent[] = [];
      p.on('maxChanged', (e) => seen.push(e));
      const holder = await p.acquire();
      const writer = await p.acquire();
      try {
        await holder.execute('BEGIN IMMEDIATE');
        await expect(writer.execute('INSERT INTO t VALUES (1)')).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
      } finally {
        writer.release();
        holder.release();
      }
      return { seen, effectiveMax: p.stats().effectiveMax };
    });
  }

  test('a write that waited the whole busy timeout and gave up halves the effective maximum', async () => {
    expect(await writeUnderLock(30)).toEqual({ seen: [{ from: 4, to: 2, reason: 'backpressure' }], effectiveMax: 2 });
  });

  describe('two adaptive pools sharing one driver', () => {
    /** Pools `a` then `b` on one driver; a write on `a` gives up on a lock another `a` lease holds. */
    async function sharedDriverUnderLock(closeBFirst: boolean) {
      const url = tmp.url('shared.db');
      const driver = createDriver(readUrl(url), { busyTimeoutMs: 30 });
      const a = await createPool({ url, max: 4 }, driver);
      const b = await createPool({ url, max: 4 }, driver);
      const seen: Record<string, MaxChangeEvent[]> = { a: [], b: [] };
      a.on('maxChanged', (e) => seen.a!.push(e));
      b.on('maxChanged', (e) => seen.b!.push(e));
      try {
        if (closeBFirst) await b.close();
        await a.execute('CREATE TABLE t (x)');
        const [holder, writer] = [await a.acquire(), await a.acquire()];
        try {
          await holder.execute('BEGIN IMMEDIATE');
          await expect(writer.execute('INSERT INTO t VALUES (1)')).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
        } finally {
          writer.release();
          holder.release();
        }
        return { seen, effectiveMax: { a: a.stats().effectiveMax, b: b.stats().effectiveMax } };
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    }

    test('both shrink, since they share the database that pushed back', async () => {
      const halved = [{ from: 4, to: 2, reason: 'backpressure' }];
      expect(await sharedDriverUnderLock(false)).toEqual({ seen: { a: halved, b: halved }, effectiveMax: { a: 2, b: 2 } });
    });

    test('once one has closed, the other still shrinks', async () => {
      const result = await sharedDriverUnderLock(true);
      expect(result.seen.a).toEqual([{ from: 4, to: 2, reason: 'backpressure' }]);
      expect(result.seen.b).toEqual([]);
    });
  });

  test('with busyTimeoutMs 0 the write fails at once, which says nothing of load: the maximum stays', async () => {
    // 0 is the pooled client's default (as @libsql/client waits for no lock):
    // each conflict would otherwise halve the pool.
    expect(await writeUnderLock(0)).toEqual({ seen: [], effectiveMax: 4 });
  });
});

describe('a write that waits for another process’s lock', () => {
  test('binds the arguments it was called with, though the caller changes its array meanwhile', async () => {
    const pool = await open({ wal: false, busyTimeoutMs: 10_000 });
    holder = await holdWriteLock(path);
    turns = loopTurns();
    const args = [42];
    const writing = outcome(pool.execute('insert into t values (?)', args));
    await turns.after(3);
    expect(writing.settled).toBe(false);
    args[0] = 7;
    await holder.release();
    expect((await writing.result).error).toBeUndefined();
    expect((await pool.execute('select a from t order by a')).rows.map((r) => r.a)).toEqual([1, 42]);
  });
});
