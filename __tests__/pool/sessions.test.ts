import type { InArgs, ResultSet } from '@libsql/client';
import {
  DelegatingDriver,
  createDriver,
  createPool,
  isPoolError,
  readUrl,
  type AdaptiveConnectionPool,
  type CloseEvent,
  type DriverConnection,
  type DriverStatement,
  type PoolConfig,
  type PooledConnection,
} from '../../lib';
import { scriptChange, sessionChange } from '../../lib/session-change';
import { tempDir, withPool } from '../support/helpers';

// What one lease does to its connection's session (settings, TEMP objects,
// attached databases) must not reach the next lease of that connection. Every
// test uses max: 1, so the next lease is on the same connection (checked).

async function value(lease: PooledConnection, sql: string): Promise<unknown> {
  return (await lease.execute(sql)).rows[0]![0];
}

/** Runs `fn` on a lease and releases it; returns the connection id. */
async function onLease(pool: AdaptiveConnectionPool, fn: (lease: PooledConnection) => Promise<unknown>): Promise<number> {
  const lease = await pool.acquire();
  try {
    await fn(lease);
  } finally {
    lease.release();
  }
  return lease.connectionId;
}

function closes(pool: AdaptiveConnectionPool): CloseEvent[] {
  const seen: CloseEvent[] = [];
  pool.on('close', (event) => seen.push(event));
  return seen;
}


test('the lexical check names the settings, TEMP objects or attached databases a statement changes, and nothing else', () => {
  expect(
    [
      'PRAGMA foreign_keys = OFF',
      '/* why */ pragma main."query_only"(1)',
      'PRAGMA temp_store = MEMORY',
      "ATTACH ':memory:' AS aux",
      'DETACH aux',
      'CREATE TEMPORARY TABLE t (v)',
      'CREATE VIEW temp.v AS SELECT 1',
      'DROP TABLE temp.t',
      'PRAGMA case_sensitive_like = ON',
    ].map(sessionChange),
  ).toEqual([
    ['foreign_keys'],
    ['query_only'],
    ['temp_store', 'temp'],
    ['attached'],
    ['attached'],
    ['temp'],
    ['temp'],
    ['temp'],
    ['case_sensitive_like'],
  ]);
  const others = [
    'PRAGMA foreign_keys',
    'PRAGMA table_info(t)',
    'PRAGMA user_version = 3',
    'SELECT * FROM pragma_foreign_keys',
    'CREATE TABLE temperature (v)',
    'INSERT INTO t VALUES (1)',
  ];
  expect(others.map(sessionChange)).toEqual(others.map(() => undefined));
  expect(scriptChange('CREATE TABLE a (v); PRAGMA busy_timeout = 10; CREATE TEMP VIEW v AS SELECT 1')).toEqual([
    'temp',
    'busy_timeout',
  ]);
  expect(scriptChange('CREATE TABLE a (v); INSERT INTO a VALUES (1)')).toBeUndefined();
});

describe('sessions on a file', () => {
  test('a busy_timeout a lease set is back to 0 for the next lease, so no lock wait sleeps inside SQLite', async () => {
    await withPool({ max: 1 }, async (pool) => {
      const first = await onLease(pool, (a) => a.execute('PRAGMA busy_timeout = 2000'));
      const lease = await pool.acquire();
      expect(lease.connectionId).toBe(first);
      expect(await value(lease, 'PRAGMA busy_timeout')).toBe(0);
      lease.release();
    });
  });

  test('query_only a lease turned on does not stop the next lease from writing', async () => {
    await withPool({ max: 1 }, async (pool) => {
      await pool.execute('CREATE TABLE t (v)');
      const first = await onLease(pool, (a) => a.execute('PRAGMA query_only = ON'));
      const lease = await pool.acquire();
      expect(lease.connectionId).toBe(first);
      await expect(lease.execute('INSERT INTO t VALUES (1)')).resolves.toMatchObject({ rowsAffected: 1 });
      lease.release();
    });
  });

  test('foreign keys a lease turned off are enforced again for the next lease', async () => {
    await withPool({ max: 1 }, async (pool) => {
      await pool.execute('CREATE TABLE parent (id INTEGER PRIMARY KEY)');
      await pool.execute('CREATE TABLE child (pid INTEGER REFERENCES parent (id))');
      const first = await onLease(pool, (a) => a.execute('PRAGMA foreign_keys = OFF'));
      const lease = await pool.acquire();
      expect(lease.connectionId).toBe(first);
      await expect(lease.execute('INSERT INTO child VALUES (42)')).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT' });
      lease.release();
    });
  });

  test.each([
    ["PRAGMA 'foreign_keys' = OFF", 'a name written as a string'],
    ['PRAGMA/* why */foreign_keys = OFF', 'a comment before the name'],
    ['EXPLAIN PRAGMA foreign_keys = OFF', 'explained: SQLite applies it as it prepares it'],
    ['EXPLAIN QUERY PLAN PRAGMA foreign_keys = OFF', 'explained as a query plan'],
  ])('%j turns foreign keys off (%s), and they are enforced again for the next lease', async (sql) => {
    await withPool({ max: 1 }, async (pool) => {
      await pool.execute('CREATE TABLE parent (id INTEGER PRIMARY KEY)');
      await pool.execute('CREATE TABLE child (pid INTEGER REFERENCES parent (id))');
      const first = await onLease(pool, async (a) => {
        await a.execute(sql);
        expect(await value(a, 'PRAGMA foreign_keys')).toBe(0);
      });
      const lease = await pool.acquire();
      expect(lease.connectionId).toBe(first);
      await expect(lease.execute('INSERT INTO child VALUES (42)')).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT' });
      lease.release();
    });
  });

  test("a TEMP table named through the schema written as a string ('temp'.t) is gone for the next lease", async () => {
    await withPool({ max: 1 }, async (pool) => {
      const first = await onLease(pool, (a) => a.execute("CREATE TABLE 'temp'.scratch (v)"));
      const lease = await pool.acquire();
      expect(lease.connectionId).toBe(first);
      expect((await lease.execute('SELECT name FROM temp.sqlite_master')).rows).toEqual([]);
      lease.release();
    });
  });

  test('a TEMP table a lease created is gone for the next lease', async () => {
    await withPool({ max: 1 }, async (pool) => {
      const first = await onLease(pool, async (a) => {
        await a.execute('CREATE TEMP TABLE scratch (v)');
        await a.execute('INSERT INTO scratch VALUES (1)');
      });
      const lease = await pool.acquire();
      expect(lease.connectionId).toBe(first);
      expect((await lease.execute('SELECT name FROM temp.sqlite_master')).rows).toEqual([]);
      lease.release();
    });
  });

  test('a TEMP view and trigger and an ATTACHed database made by executeMultiple are gone for the next lease', async () => {
    await withPool({ max: 1 }, async (pool) => {
      await pool.execute('CREATE TABLE t (v)');
      await onLease(pool, (a) =>
        a.executeMultiple(
          "ATTACH ':memory:' AS aux; CREATE TEMP VIEW tv AS SELECT 1; " +
            'CREATE TEMP TRIGGER tt AFTER INSERT ON t BEGIN SELECT 1; END',
        ),
      );
      const lease = await pool.acquire();
      expect((await lease.execute('SELECT type, name FROM temp.sqlite_master')).rows).toEqual([]);
      expect((await lease.execute('SELECT name FROM pragma_database_list')).rows.map((r) => r[0])).toEqual(['main', 'temp']);
      lease.release();
    });
  });

  test('the lock a lease kept with locking_mode = EXCLUSIVE is let go at checkin', async () => {
    // A rollback journal: in WAL mode b's connection would keep a from taking the lock at all.
    await withPool({ max: 2, busyTimeoutMs: 0, wal: false }, async (pool) => {
      await pool.execute('CREATE TABLE t (v)');
      const [a, b] = [await pool.acquire(), await pool.acquire()];
      await a.execute('PRAGMA locking_mode = EXCLUSIVE');
      await a.execute('INSERT INTO t VALUES (1)');
      a.release();
      // The only idle connection: this waits until a's checkin is done.
      const again = await pool.acquire();
      expect(again.connectionId).toBe(a.connectionId);
      again.release();
      await expect(b.execute('INSERT INTO t VALUES (2)')).resolves.toMatchObject({ rowsAffected: 1 });
      b.release();
    });
  });

  test('the same PRAGMA text run by two leases in turn is undone after each (it is never a cache hit)', async () => {
    await withPool({ max: 1 }, async (pool) => {
      await onLease(pool, (a) => a.execute('PRAGMA recursive_triggers = ON'));
      await onLease(pool, (b) => b.execute('PRAGMA recursive_triggers = ON'));
      const lease = await pool.acquire();
      expect(await value(lease, 'PRAGMA recursive_triggers')).toBe(0);
      lease.release();
    });
  });

  test('case_sensitive_like, which cannot be read back, closes the connection at checkin (error)', async () => {
    await withPool({ max: 1 }, async (pool) => {
      const seen = closes(pool);
      const first = await onLease(pool, (a) => a.execute('PRAGMA case_sensitive_like = ON'));
      // max: 1, so this waits until the checkin decided.
      const lease = await pool.acquire();
      expect(lease.connectionId).not.toBe(first);
      expect(seen).toMatchObject([{ connectionId: first, reason: 'error' }]);
      expect(await value(lease, "SELECT 'a' LIKE 'A'")).toBe(1);
      lease.release();
    });
  });

  test('a lease that changed nothing costs no statement at checkin', async () => {
    const tmp = tempDir();
    const config = { url: tmp.url(), max: 1 };
    const driver = new CountingDriver(createDriver(readUrl(config.url)));
    const pool = await createPool(config, driver);
    try {
      const lease = await pool.acquire();
      await lease.execute('SELECT 1');
      const before = driver.calls;
      lease.release();
      await pool.acquire().then((next) => next.release());
      expect(driver.calls).toBe(before);
    } finally {
      await pool.close({ timeoutMs: 0 });
      tmp.dispose();
    }
  });
});

describe('afterConnect', () => {
  const setup: PoolConfig['afterConnect'] = async (connection) => {
    await connection.execute('PRAGMA foreign_keys = OFF');
    await connection.execute('CREATE TEMP TABLE keep (v)');
    await connection.execute("ATTACH ':memory:' AS aux");
  };

  test('what it set up is what the next lease finds, after a lease changed the same things', async () => {
    await withPool({ max: 1, afterConnect: setup }, async (pool) => {
      const first = await onLease(pool, async (a) => {
        await a.execute('PRAGMA foreign_keys = ON');
        await a.execute('CREATE TEMP TABLE scratch (v)');
        await a.execute("ATTACH ':memory:' AS other");
      });
      const lease = await pool.acquire();
      expect(lease.connectionId).toBe(first);
      expect(await value(lease, 'PRAGMA foreign_keys')).toBe(0);
      expect((await lease.execute('SELECT name FROM temp.sqlite_master')).rows.map((r) => r[0])).toEqual(['keep']);
      expect((await lease.execute('SELECT name FROM pragma_database_list')).rows.map((r) => r[0])).toEqual([
        'main',
        'temp',
        'aux',
      ]);
      lease.release();
    });
  });

  test('a setup that throws fails the connect with CONNECT_FAILED and closes the connection', async () => {
    const tmp = tempDir();
    const failure = new Error('setup failed');
    const config: PoolConfig = {
      url: tmp.url(),
      afterConnect: () => {
        throw failure;
      },
    };
    const driver = new CountingDriver(createDriver(readUrl(config.url)));
    try {
      const error = await createPool(config, driver).catch((e: unknown) => e);
      expect(isPoolError(error, 'CONNECT_FAILED')).toBe(true);
      expect((error as Error).cause).toBe(failure);
      expect(driver.opened).toBe(1);
      expect(driver.closed).toBe(1);
    } finally {
      tmp.dispose();
    }
  });

  test('a reset that cannot restore the setup (its TEMP table dropped) closes the connection (error), never lends it', async () => {
    await withPool({ max: 1, afterConnect: setup }, async (pool) => {
      const seen = closes(pool);
      const first = await onLease(pool, async (a) => {
        await a.execute('PRAGMA foreign_keys = ON');
        await a.execute('DROP TABLE temp.keep');
      });
      const lease = await pool.acquire();
      expect(lease.connectionId).not.toBe(first);
      expect(seen).toMatchObject([{ connectionId: first, reason: 'error', error: expect.any(Error) }]);
      expect((await lease.execute('SELECT name FROM temp.sqlite_master')).rows.map((r) => r[0])).toEqual(['keep']);
      lease.release();
    });
  });
});

describe('afterRelease', () => {
  test('returning false closes the connection (unhealthy) and the next caller gets another', async () => {
    await withPool({ max: 1, afterRelease: (_connection, info) => info.uses < 2 }, async (pool) => {
      const seen = closes(pool);
      const first = await onLease(pool, async () => undefined);
      expect(await onLease(pool, async () => undefined)).toBe(first);
      expect(await onLease(pool, async () => undefined)).not.toBe(first);
      expect(seen).toMatchObject([{ connectionId: first, reason: 'unhealthy' }]);
    });
  });

  test('a check that throws closes the connection with reason error and the thrown error', async () => {
    const failure = new Error('check failed');
    await withPool(
      {
        max: 1,
        afterRelease: () => {
          throw failure;
        },
      },
      async (pool) => {
        const seen = closes(pool);
        const first = await onLease(pool, async () => undefined);
        expect(await onLease(pool, async () => undefined)).not.toBe(first);
        expect(seen[0]).toMatchObject({ connectionId: first, reason: 'error', error: failure });
      },
    );
  });

  test('it runs before the reset: it sees the TEMP table the caller left, and what it changes is undone too', async () => {
    const seen: unknown[] = [];
    const afterRelease: PoolConfig['afterRelease'] = async (connection) => {
      seen.push(...(await connection.execute('SELECT name FROM temp.sqlite_master')).rows.map((r) => r[0]));
      await connection.execute('PRAGMA query_only = ON');
      return true;
    };
    await withPool({ max: 1, afterRelease }, async (pool) => {
      await onLease(pool, (a) => a.execute('CREATE TEMP TABLE scratch (v)'));
      expect(seen).toEqual(['scratch']);
      const lease = await pool.acquire();
      expect(await value(lease, 'PRAGMA query_only')).toBe(0);
      expect((await lease.execute('SELECT name FROM temp.sqlite_master')).rows).toEqual([]);
      lease.release();
    });
  });
});

describe('sessions on a server (ws)', () => {
  const url = process.env.LIBSQL_POOL_TEST_SQLD_WS!;

  test('foreign keys a lease turned off are on again for the next lease', async () => {
    const pool = await createPool({ url, max: 1 });
    try {
      const first = await onLease(pool, (a) => a.execute('PRAGMA foreign_keys = OFF'));
      const lease = await pool.acquire();
      expect(lease.connectionId).toBe(first);
      expect(await value(lease, 'PRAGMA foreign_keys')).toBe(1);
      lease.release();
    } finally {
      await pool.close({ timeoutMs: 0 });
    }
  });

  test('what afterConnect set on a server connection is what the next lease finds', async () => {
    const afterConnect: PoolConfig['afterConnect'] = (connection) => connection.execute('PRAGMA foreign_keys = OFF').then(() => undefined);
    const pool = await createPool({ url, max: 1, afterConnect });
    try {
      await onLease(pool, (a) => a.execute('PRAGMA foreign_keys = ON'));
      const lease = await pool.acquire();
      expect(await value(lease, 'PRAGMA foreign_keys')).toBe(0);
      lease.release();
    } finally {
      await pool.close({ timeoutMs: 0 });
    }
  });

  test('sqld refuses query_only and TEMP tables, so neither can outlive a lease there', async () => {
    const pool = await createPool({ url, max: 1 });
    try {
      const lease = await pool.acquire();
      await expect(lease.execute('PRAGMA query_only = ON')).rejects.toThrow(/unsupported statement/);
      await expect(lease.execute('CREATE TEMP TABLE scratch (v)')).rejects.toThrow(/unsupported statement/);
      lease.release();
    } finally {
      await pool.close({ timeoutMs: 0 });
    }
  });
});

describe('sessions on a server (http)', () => {
  const url = process.env.LIBSQL_POOL_TEST_SQLD_HTTP!;

  // sqld drops an HTTP stream idle for 10 s, so the driver replaces one idle
  // for 8 s: a new server connection, with the server's defaults. The clock is
  // moved, not waited for.
  test('what afterConnect set is set again when an idle HTTP stream is replaced under the connection', async () => {
    const afterConnect: PoolConfig['afterConnect'] = (connection) => connection.execute('PRAGMA foreign_keys = OFF').then(() => undefined);
    const pool = await createPool({ url, max: 1, afterConnect });
    const realNow = performance.now.bind(performance);
    try {
      const lease = await pool.acquire();
      expect(await value(lease, 'PRAGMA foreign_keys')).toBe(0);
      const ahead = jest.spyOn(performance, 'now').mockImplementation(() => realNow() + 9_000);
      try {
        expect(await value(lease, 'PRAGMA foreign_keys')).toBe(0);
      } finally {
        ahead.mockRestore();
      }
      lease.release();
      expect(pool.stats().totals.closed.error ?? 0).toBe(0);
    } finally {
      await pool.close({ timeoutMs: 0 });
    }
  });
});

/** The real driver, counting what reaches its connections. */
class CountingDriver extends DelegatingDriver {
  calls = 0;
  opened = 0;
  closed = 0;

  override async connect(): Promise<DriverConnection> {
    const inner = await this.inner.connect();
    this.opened++;
    const count = <T>(result: T): T => {
      this.calls++;
      return result;
    };
    return {
      prepare: (sql: string) => count(inner.prepare(sql)),
      execute: (statement: DriverStatement, args: InArgs | undefined): Promise<ResultSet> =>
        count(inner.execute(statement, args)),
      executeMultiple: (sql: string) => count(inner.executeMultiple(sql)),
      inTransaction: () => inner.inTransaction(),
      rollback: () => count(inner.rollback()),
      get brokenBy() {
        return inner.brokenBy;
      },
      close: () => {
        this.closed++;
        inner.close();
      },
      pending: () => inner.pending?.(),
    };
  }
}
