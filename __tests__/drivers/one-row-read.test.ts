import { createRequire } from 'node:module';
import { createClient } from '@libsql/client';
import fc from 'fast-check';
import { withPool } from '../support/helpers';

// A SELECT whose own LIMIT bounds it to one row (`LIMIT 1`, or `LIMIT ?`
// bound to 0 or 1) is read on files with one `get()`, the step SQLite needs,
// instead of the cursor `all()` builds. libsql's `get()` has two traps the
// driver must keep out of the caller's way: on a statement `all()` has run it
// returns that run's row, and after a failed `get()` every later one fails the
// same way. These tests watch which method reads, and what comes back.

const libsqlRequire = createRequire(require.resolve('@libsql/client'));
type Statement = { get(...args: unknown[]): unknown; all(...args: unknown[]): unknown };
const Database = libsqlRequire('libsql') as new (path: string) => { prepare(sql: string): Statement; close(): void };

/** libsql's `Statement.prototype`, which the pool's statements share (one libsql module in the process). */
function statementPrototype(): Statement {
  const db = new Database(':memory:');
  try {
    return Object.getPrototypeOf(db.prepare('SELECT 1')) as Statement;
  } finally {
    db.close();
  }
}

const SETUP = "CREATE TABLE t(id INTEGER PRIMARY KEY, owner INTEGER, name TEXT); INSERT INTO t VALUES (1, 1, 'a'), (2, 1, 'b'), (3, 2, 'c');";

/** Counts the `get()` and `all()` calls made while `fn` runs. */
async function countReads(fn: () => Promise<void>): Promise<{ get: number; all: number }> {
  const proto = statementPrototype();
  const get = jest.spyOn(proto, 'get');
  const all = jest.spyOn(proto, 'all');
  try {
    await fn();
    return { get: get.mock.calls.length, all: all.mock.calls.length };
  } finally {
    get.mockRestore();
    all.mockRestore();
  }
}

test('a cached SELECT … LIMIT 1 reads with one get() per run, and returns the rows the client returns', async () => {
  await withPool({ max: 1 }, async (pool, url) => {
    await pool.use((lease) => lease.executeMultiple(SETUP));
    const sql = 'SELECT id, name FROM t WHERE id = ? LIMIT 1';
    await pool.execute(sql, [1]);
    await pool.execute(sql, [1]);
    const results: unknown[] = [];
    const reads = await countReads(async () => {
      for (const id of [1, 2, 9]) results.push((await pool.execute(sql, [id])).rows);
    });
    // Through the documented `get()` or the native functions `all()` is built on: never `all()` itself.
    expect(reads).toEqual({ get: 3, all: 0 });
    const client = createClient({ url });
    try {
      const expected = [];
      for (const id of [1, 2, 9]) expected.push((await client.execute({ sql, args: [id] })).rows);
      expect(results).toStrictEqual(expected);
    } finally {
      client.close();
    }
  });
});

test('LIMIT ? reads with get() when bound to 1 and takes every row when bound to more, switching back and forth', async () => {
  await withPool({ max: 1 }, async (pool) => {
    await pool.use((lease) => lease.executeMultiple(SETUP));
    const sql = 'SELECT id FROM t WHERE owner = ? ORDER BY id LIMIT ?';
    const ids = async (args: number[]) => (await pool.execute(sql, args)).rows.map((row) => row.id);
    await ids([1, 2]);
    await ids([1, 2]);
    let seen: unknown[] = [];
    const reads = await countReads(async () => {
      seen = [await ids([1, 1]), await ids([1, 5]), await ids([1, 1]), await ids([2, 0]), await ids([1, 2]), await ids([2, 1])];
    });
    expect(seen).toEqual([[1], [1, 2], [1], [], [1, 2], [3]]);
    expect(reads.get).toBe(4);
  });
});

test('a failed one-row read does not fail the next run of the same statement', async () => {
  await withPool({ max: 1 }, async (pool) => {
    const sql = 'SELECT json(?) AS j LIMIT 1';
    await pool.execute(sql, ['{}']);
    await expect(pool.execute(sql, ['{'])).rejects.toMatchObject({ code: 'SQLITE_ERROR', message: expect.stringContaining('malformed JSON') });
    await expect(pool.execute(sql, ['{"a":1}'])).resolves.toMatchObject({ rows: [{ j: '{"a":1}' }] });
  });
});

test('a statement without a LIMIT of one is never read with get()', async () => {
  await withPool({ max: 1 }, async (pool) => {
    await pool.use((lease) => lease.executeMultiple(SETUP));
    const texts = ['SELECT id FROM t WHERE id = ?', 'SELECT id FROM t WHERE id >= ? LIMIT 2', 'SELECT id FROM t WHERE id >= ? LIMIT ?, 1'];
    for (const sql of texts) await pool.execute(sql, [1]).catch(() => undefined);
    const reads = await countReads(async () => {
      expect((await pool.execute(texts[0]!, [1])).rows).toHaveLength(1);
      expect((await pool.execute(texts[1]!, [1])).rows).toHaveLength(2);
      expect((await pool.execute(texts[2]!, [1, 1])).rows).toEqual([expect.objectContaining({ id: 2 })]);
    });
    expect(reads.get).toBe(0);
  });
});

test('any sequence of LIMIT and OFFSET values returns what the client returns, run after run', async () => {
  await withPool({ max: 1 }, async (pool, url) => {
    await pool.use((lease) => lease.executeMultiple(SETUP));
    const client = createClient({ url });
    try {
      const texts = [
        'SELECT id, name FROM t ORDER BY id LIMIT ?',
        'SELECT id, name FROM t ORDER BY id LIMIT ? OFFSET ?',
        'SELECT id, name FROM t WHERE owner = ? ORDER BY id DESC LIMIT 1 OFFSET ?',
      ];
      const value = fc.oneof(fc.constantFrom(-1, 0, 1, 2, 5), fc.constantFrom(0n, 1n, 3n));
      const step = fc.tuple(fc.nat({ max: texts.length - 1 }), value, value);
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
          for (const [text, a, b] of steps) {
            const sql = texts[text]!;
            const args = text === 0 ? [a] : [a, b];
            const expected = await client.execute({ sql, args }).then((r) => r.rows, (e: Error) => e.message);
            const actual = await pool.execute(sql, args).then((r) => r.rows, (e: Error) => e.message);
            expect(actual).toStrictEqual(expected);
          }
        }),
        { numRuns: 150 },
      );
    } finally {
      client.close();
    }
  });
});
