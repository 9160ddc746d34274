import { createClient, type Client, type Config, type IntMode, type ResultSet } from '@libsql/client';
import { LibsqlBatchError, createPooledClient, type PoolConfig, type PooledClient } from '../../lib';
import { tempDir } from '../support/helpers';
import { servers, table } from '../support/remote';

// The client's documented behaviour, as one list of scenarios: each runs
// against `createClient` and against `createPooledClient` on a file, over
// ws:// and over http:// (a real sqld), and what the caller can observe (the
// results as plain copies, or the error's class, codes and message) must be
// equal. A difference that stays is a test named `a difference:`, listed in
// docs/drop-in.md.

type Backend = 'file' | 'ws' | 'http';
type Scenario = (c: Client, t: string) => Promise<unknown>;
const BACKENDS: Backend[] = ['file', 'ws', 'http'];

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.dispose());
let files = 0;

/** Opens one side on `backend`: a file of its own, or the shared server. */
async function open(pooled: boolean, backend: Backend, extra: Partial<Config>): Promise<Client> {
  const url = backend === 'file' ? tmp.url(`db${files++}.db`) : servers[backend];
  const config = { url, ...extra };
  return pooled ? createPooledClient(config as PoolConfig) : createClient(config);
}

async function shut(c: Client): Promise<void> {
  c.close();
  if ('pool' in c) await (c as PooledClient).pool.close();
}

/** What the caller sees of a value, with results and buffers as plain data. */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (value instanceof ArrayBuffer) return { bytes: Array.from(new Uint8Array(value)) };
  if (value !== null && typeof value === 'object' && 'columnTypes' in value) {
    const rs = value as ResultSet;
    return {
      columns: [...rs.columns],
      columnTypes: [...rs.columnTypes],
      rows: rs.rows.map((row) => ({ values: plain(Array.from(row)), named: plain({ ...row }) })),
      rowsAffected: rs.rowsAffected,
      lastInsertRowid: rs.lastInsertRowid,
      json: JSON.stringify(rs),
    };
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

/** What the caller sees of an error: its class, codes, batch index and message. */
function failure(error: unknown): unknown {
  const e = error as LibsqlBatchError;
  return {
    thrown: e.constructor.name,
    code: e.code,
    extendedCode: e.extendedCode,
    rawCode: e.rawCode,
    statementIndex: e.statementIndex,
    message: e.message,
  };
}

/** Runs `scenario` on the client, then on the pooled client, on one backend; returns both outcomes. */
async function outcomes(backend: Backend, scenario: Scenario, extra: Partial<Config> = {}): Promise<[unknown, unknown]> {
  const t = table();
  const seen: unknown[] = [];
  for (const pooled of [false, true]) {
    const c = await open(pooled, backend, extra);
    try {
      seen.push(await scenario(c, t).then(plain, failure));
    } finally {
      await c.execute(`DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
      await shut(c);
    }
  }
  return seen as [unknown, unknown];
}

/** A table `t` with one column `a` (and a UNIQUE one, `u`), fresh for the scenario. */
async function fresh(c: Client, t: string, columns = 'a, u UNIQUE'): Promise<void> {
  await c.execute(`DROP TABLE IF EXISTS ${t}`);
  await c.execute(`CREATE TABLE ${t} (${columns})`);
}

const count = async (c: Client, t: string): Promise<unknown> => (await c.execute(`SELECT COUNT(*) FROM ${t}`)).rows[0]![0];
const selectArgs = (c: Client, args: unknown[]): Promise<ResultSet> =>
  c.execute({ sql: `SELECT ${args.map(() => '?').join(', ')}`, args: args as never });

const bytes = Uint8Array.from({ length: 64 }, (_, i) => i ^ 0xab);
const VALUES: unknown[] = ['boomerang', 'a\n\r\t ', 'žluťoučký kůň', 0, -2023, 12.345, 1e18, -1e18, Number.MAX_VALUE,
  Number.MIN_VALUE, 0n, -42n, 9007199254740991n, null, true, false, bytes, bytes.buffer, new Date('2023-01-02T12:34:56Z')];
const STORED = `SELECT 42 AS i, 0.5 AS f, 'foo' AS t, X'626172' AS b, NULL AS n, 9223372036854775807 AS big, -9223372036854775808 AS small`;

/** `[behaviour, scenario, extra config]`: the pooled client must do exactly what the client does. */
const SCENARIOS: Array<[string, Scenario, Partial<Config>?]> = [
  // Values and intMode.
  ...(['number', 'bigint', 'string'] as IntMode[]).flatMap((intMode): Array<[string, Scenario, Partial<Config>]> => [
    [`every kind of value round-trips as an argument (intMode ${intMode})`, (c) => selectArgs(c, VALUES), { intMode }],
    [`computed values of every type read back (intMode ${intMode})`, (c) => c.execute(STORED), { intMode }],
    [`stored values keep their declared column types (intMode ${intMode})`, async (c, t) => {
      await fresh(c, t, 'i INTEGER, f FLOAT, s TEXT, b BLOB');
      await c.execute({ sql: `INSERT INTO ${t} VALUES (?, ?, ?, ?)`, args: [9007199254740993n, 0.5, 'x', bytes] });
      return c.execute(`SELECT * FROM ${t}`);
    }, { intMode }],
  ]),
  ['an integer beyond 2^53 read in intMode number is a RangeError', (c) => c.execute('SELECT 9007199254740993')],
  ['undefined as an argument is a TypeError', (c) => selectArgs(c, [undefined])],
  ['NaN as an argument is a RangeError', (c) => selectArgs(c, [NaN])],
  ['Infinity as an argument is a RangeError', (c) => selectArgs(c, [Infinity])],
  ['a bigint beyond 64 bits is a RangeError', (c) => selectArgs(c, [-1267650600228229401496703205376n])],
  // Arguments.
  ['? arguments bind in order', (c) => c.execute({ sql: 'SELECT ?, ?', args: ['one', 'two'] })],
  ['?NNN arguments bind by number, with holes', (c) => c.execute({ sql: 'SELECT ?3, ?1', args: ['one', 'two', 'three'] })],
  ...[':', '@', '$'].map((sign): [string, Scenario] => [
    `${sign}name arguments bind by name, with or without the sign, used twice`,
    (c) => c.execute({ sql: `SELECT ${sign}b, ${sign}a, ${sign}b || ${sign}a`, args: { a: 'one', [`${sign}b`]: 'two' } }),
  ]),
  ['a missing named argument is an error', (c) => c.execute({ sql: 'SELECT :a, :b', args: { a: 1 } })],
  ['the (sql, args) form binds as { sql, args }', (c) => c.execute('SELECT ?, :x', [1] as never)],
  // SQL errors, with their codes.
  ['a syntax error', (c) => c.execute('NOT A VALID SQL')],
  ['an unknown column', (c) => c.execute('SELECT foobar')],
  ['an unknown table', (c, t) => c.execute(`SELECT * FROM ${t}_missing`)],
  ['a UNIQUE violation', async (c, t) => {
    await fresh(c, t);
    await c.execute(`INSERT INTO ${t} (u) VALUES (1)`);
    return c.execute(`INSERT INTO ${t} (u) VALUES (1)`);
  }],
  ['a NOT NULL violation', async (c, t) => {
    await fresh(c, t, 'a NOT NULL');
    return c.execute(`INSERT INTO ${t} VALUES (NULL)`);
  }],
  ['a CHECK violation', async (c, t) => {
    await fresh(c, t, 'a CHECK (a > 0)');
    return c.execute(`INSERT INTO ${t} VALUES (-1)`);
  }],
  // Statements.
  ['rowsAffected and lastInsertRowid of writes', async (c, t) => {
    await fresh(c, t, 'id INTEGER PRIMARY KEY, a');
    return [
      await c.execute(`INSERT INTO ${t} (id, a) VALUES (12345, 1), (12346, 2)`),
      await c.execute(`WITH x(a) AS (SELECT 2 * a FROM ${t}) INSERT INTO ${t} (a) SELECT a FROM x`),
      await c.execute(`UPDATE ${t} SET a = a + 1 WHERE a > 1`),
      await c.execute(`DELETE FROM ${t} WHERE a >= 3 RETURNING a`),
    ];
  }],
  // Batches.
  ...(['write', 'read', 'deferred'] as const).map((mode): [string, Scenario] => [
    `a ${mode} batch returns one result per statement`,
    (c) => c.batch(['SELECT 1+1', { sql: 'SELECT ?', args: ['boomerang'] }, ['VALUES (?), (?)', ['big', 'ben']]], mode),
  ]),
  ['a batch runs in order inside one transaction', async (c, t) => {
    await fresh(c, t);
    return c.batch([`INSERT INTO ${t} (a) VALUES (1)`, `SELECT * FROM ${t}`, `INSERT INTO ${t} (a) VALUES (2) RETURNING a`], 'write');
  }],
  ['a failing statement fails the batch with its index and rolls back the rest', async (c, t) => {
    await fresh(c, t);
    const error = await c.batch([`INSERT INTO ${t} (a) VALUES (1)`, 'SELECT foobar', `INSERT INTO ${t} (a) VALUES (2)`], 'write').catch(failure);
    return [error, await count(c, t)];
  }],
  ['a write in a read batch fails', async (c, t) => {
    await fresh(c, t);
    const error = await c.batch([`INSERT INTO ${t} (a) VALUES (1)`], 'read').catch(failure);
    return [error, await count(c, t)];
  }],
  ['a batch of 1,000 different statements', (c) => c.batch(Array.from({ length: 1000 }, (_, i) => `SELECT ${i}`), 'read')],
  ['a batch of 2,000 statements of the same text', async (c, t) => {
    await fresh(c, t);
    const stmts = Array.from({ length: 2000 }, (_, i) => ({ sql: `INSERT INTO ${t} (a) VALUES (?)`, args: [i] }));
    const results = await c.batch(stmts, 'write');
    return [results.length, results[1999]!.rowsAffected, await c.execute(`SELECT SUM(a) FROM ${t}`)];
  }],
  ['an empty batch', (c) => c.batch([], 'write')],
  // Interactive transactions.
  ['a transaction commits, and is closed afterwards', async (c, t) => {
    await fresh(c, t);
    const tx = await c.transaction('write');
    await tx.execute(`INSERT INTO ${t} (a) VALUES (1)`);
    const before = tx.closed;
    await tx.commit();
    return [before, tx.closed, await count(c, t)];
  }],
  ...(['rollback', 'close'] as const).map((end): [string, Scenario] => [`${end}() discards the transaction's writes`, async (c, t) => {
    await fresh(c, t);
    const tx = await c.transaction('write');
    await tx.execute(`INSERT INTO ${t} (a) VALUES (1)`);
    if (end === 'rollback') await tx.rollback();
    else tx.close();
    return [tx.closed, await count(c, t)];
  }]),
  ['a settled transaction refuses every call with TRANSACTION_CLOSED', async (c) => {
    const tx = await c.transaction('read');
    await tx.commit();
    const calls = [() => tx.execute('SELECT 1'), () => tx.batch(['SELECT 1']), () => tx.executeMultiple('SELECT 1'), () => tx.commit()];
    const errors = [];
    for (const call of calls) errors.push(await call().catch((e: unknown) => (e as { code: unknown }).code));
    await tx.rollback();
    tx.close();
    return errors;
  }],
  ['an error inside a transaction does not roll it back', async (c, t) => {
    await fresh(c, t);
    const tx = await c.transaction('write');
    const error = await tx.execute('SELECT foo').catch(failure);
    await tx.execute(`INSERT INTO ${t} (a) VALUES (1)`);
    const batchError = await tx.batch([`INSERT INTO ${t} (a) VALUES (2)`, 'SELECT bar', `INSERT INTO ${t} (a) VALUES (3)`]).catch(failure);
    await tx.commit();
    return [error, batchError, await c.execute(`SELECT a FROM ${t} ORDER BY a`)];
  }],
  ['a write in a read transaction fails', async (c, t) => {
    await fresh(c, t);
    const tx = await c.transaction('read');
    try {
      return await tx.execute(`INSERT INTO ${t} (a) VALUES (1)`).catch(failure);
    } finally {
      tx.close();
    }
  }],
  ['executeMultiple inside a transaction, then its results', async (c, t) => {
    const tx = await c.transaction('write');
    await tx.executeMultiple(`DROP TABLE IF EXISTS ${t}; CREATE TABLE ${t} (a); INSERT INTO ${t} VALUES (1), (2), (4);`);
    const rs = await tx.execute(`SELECT SUM(a) FROM ${t}`);
    await tx.commit();
    return rs;
  }],
  // executeMultiple and migrate.
  ['executeMultiple runs a script and stops at its first error', async (c, t) => {
    const error = await c
      .executeMultiple(`DROP TABLE IF EXISTS ${t}; CREATE TABLE ${t} (a); INSERT INTO ${t} VALUES (1); INSERT INTO ${t} VALUES (foo()); INSERT INTO ${t} VALUES (2);`)
      .catch(failure);
    return [error, await count(c, t)];
  }],
  ['executeMultiple with BEGIN and COMMIT of its own', async (c, t) => {
    await c.executeMultiple(`DROP TABLE IF EXISTS ${t}; CREATE TABLE ${t} (a); BEGIN; INSERT INTO ${t} VALUES (1), (2); COMMIT;`);
    return count(c, t);
  }],
  ['migrate runs statements in one transaction, foreign keys off', async (c, t) => {
    await c.execute(`DROP TABLE IF EXISTS ${t}_child`);
    await fresh(c, t, 'id INTEGER PRIMARY KEY');
    return c.migrate([
      { sql: `CREATE TABLE ${t}_child (p REFERENCES ${t}(id))`, args: [] },
      { sql: `INSERT INTO ${t}_child VALUES (7)`, args: [] },
      { sql: `DROP TABLE ${t}_child`, args: [] },
    ]);
  }],
  // Several calls in flight.
  ['twenty executes at once', (c) => Promise.all(Array.from({ length: 20 }, (_, i) => c.execute({ sql: 'SELECT ?', args: [i] })))],
  ['twenty write batches at once, each all or nothing', async (c, t) => {
    await fresh(c, t);
    const settled = await Promise.allSettled(Array.from({ length: 20 }, (_, i) =>
      c.batch([{ sql: `INSERT INTO ${t} (a) VALUES (?)`, args: [i] }, { sql: `INSERT INTO ${t} (a) VALUES (?)`, args: [i * 10] }], 'write'),
    ));
    // Under this contention sqld now and then turns a batch away with
    // SQLITE_BUSY, on either side (2 of 2,400 runs of this scenario, client and pool alike): what must
    // hold is that every batch is there whole or not at all.
    const committed = settled.flatMap((s, i) => (s.status === 'fulfilled' ? [i] : []));
    const refused = settled.flatMap((s) => (s.status === 'rejected' ? [(s.reason as { code?: unknown }).code] : []));
    const [count, sum] = Array.from((await c.execute(`SELECT COUNT(*), SUM(a) FROM ${t}`)).rows[0]!);
    return {
      whole: count === 2 * committed.length && sum === committed.reduce((total, i) => total + 11 * i, 0),
      refusedOnlyBusy: refused.every((code) => code === 'SQLITE_BUSY'),
      anyCommitted: committed.length > 0,
    };
  }],
  // The client itself.
  ['protocol and closed, before and after close()', async (c) => {
    const before = [c.protocol, c.closed];
    c.close();
    return [before, c.protocol, c.closed];
  }],
];

describe.each(BACKENDS)('on %s, the pooled client does what the client does', (backend) => {
  const rows = SCENARIOS.map(([behaviour, scenario, extra]) => ({ behaviour, scenario, extra }));
  test.each(rows)('$behaviour', async ({ scenario, extra }) => {
    const [client, pooled] = await outcomes(backend, scenario, extra);
    expect(pooled).toStrictEqual(client);
  });

  test('a closed client refuses every call with CLIENT_CLOSED', async () => {
    // Over HTTP the client says UNKNOWN: see the difference below.
    const calls: Scenario[] = [(c) => c.execute('SELECT 1'), (c) => c.batch(['SELECT 1']), (c) => c.transaction(), (c) => c.executeMultiple('SELECT 1'), (c) => c.migrate([])];
    for (const call of calls) {
      const [client, pooled] = await outcomes(backend, async (c, t) => {
        c.close();
        return call(c, t);
      });
      if (backend === 'http') expect(pooled).toMatchObject({ thrown: 'LibsqlError', code: 'CLIENT_CLOSED' });
      else expect(pooled).toStrictEqual(client);
    }
  });
});

test.each(BACKENDS)('an unknown transaction mode is the client\'s RangeError, on %s', async (backend) => {
  const [client, pooled] = await outcomes(backend, async (c) => {
    const tx = await c.transaction('bogus' as never);
    try {
      return await tx.execute('SELECT 1');
    } finally {
      tx.close();
    }
  });
  expect(pooled).toStrictEqual(client);
});

describe.each(['ws', 'http'] as const)('differences that stay, over %s', (backend) => {
  test('a difference: an unknown transaction mode fails in transaction(), before anything is sent; the client fails at the first statement', async () => {
    const [client, pooled] = await outcomes(backend, async (c) => {
      const tx = await c.transaction('bogus' as never);
      tx.close();
      return 'opened';
    });
    expect(client).toBe('opened');
    expect(pooled).toMatchObject({ thrown: 'RangeError' });
  });

  test('a difference: a ROLLBACK statement in a transaction ends it, as on a file; the client goes on in autocommit', async () => {
    const [client, pooled] = await outcomes(backend, async (c, t) => {
      await fresh(c, t);
      const tx = await c.transaction('write');
      await tx.execute(`INSERT INTO ${t} (a) VALUES (1)`);
      await tx.execute('ROLLBACK');
      const after = await tx.execute(`INSERT INTO ${t} (a) VALUES (2)`).catch((e: unknown) => (e as { code: unknown }).code);
      tx.close();
      return [after, await count(c, t)];
    });
    expect(client).toEqual([expect.objectContaining({ rowsAffected: 1 }), 1]);
    expect(pooled).toEqual(['TRANSACTION_CLOSED', 0]);
  });
});
