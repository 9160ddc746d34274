/**
 * The Kysely scenario of `__tests__/conformance/orm.test.ts`, run as a child process:
 * `node -r ts-node/register/transpile-only __tests__/support/kysely-scenario.ts <pooled|plain> <url>`.
 *
 * Why a child process: kysely 0.29 ships ESM only (no CommonJS build), and
 * Jest's CommonJS runtime cannot `require()` an ES module before Node 24.9.
 * Plain Node 20.19+ can (`require(esm)`), so the scenario runs there and
 * prints its results as JSON for the test to compare.
 */
import { createClient, type Client } from '@libsql/client';
import { LibsqlDialect } from '@libsql/kysely-libsql';
import { Kysely, sql, type Generated } from 'kysely';
import { createPooledClient, type PooledClient } from '../../lib';

interface Database {
  authors: { id: Generated<number>; name: string };
  books: { id: Generated<number>; author_id: number; title: string; year: number | null };
}

async function scenario(client: Client, pooled: PooledClient | undefined): Promise<Record<string, unknown>> {
  // `{ client }`: the dialect uses the client it is given and never closes it.
  // The cast: @libsql/kysely-libsql 0.4 types `client` with its own nested
  // @libsql/client 0.8, whose `sync()` returned `Promise<void>`; the methods
  // it calls (`execute`, `transaction`) are the same.
  type DialectClient = Extract<ConstructorParameters<typeof LibsqlDialect>[0], { client: unknown }>['client'];
  const db = new Kysely<Database>({ dialect: new LibsqlDialect({ client: client as unknown as DialectClient }) });
  const out: Record<string, unknown> = {};
  await db.schema
    .createTable('authors')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('books')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('author_id', 'integer', (c) => c.notNull().references('authors.id'))
    .addColumn('title', 'text', (c) => c.notNull().unique())
    .addColumn('year', 'integer')
    .execute();

  out.insertedAuthors = await db
    .insertInto('authors')
    .values([{ name: 'Jane Austen' }, { name: 'Mary Shelley' }])
    .returning(['id', 'name'])
    .execute();
  const insert = await db
    .insertInto('books')
    .values([
      { author_id: 1, title: 'Emma', year: 1815 },
      { author_id: 1, title: 'Persuasion', year: 1817 },
      { author_id: 2, title: 'Frankenstein', year: 1818 },
    ])
    .executeTakeFirst();
  out.insert = { insertId: String(insert.insertId), numInsertedOrUpdatedRows: String(insert.numInsertedOrUpdatedRows) };
  out.select = await db.selectFrom('books').select(['title', 'year']).where('year', '>', 1816).orderBy('year').execute();
  out.join = await db
    .selectFrom('books')
    .innerJoin('authors', 'authors.id', 'books.author_id')
    .select(['authors.name as author', 'books.title'])
    .orderBy('books.id')
    .execute();
  out.count = await db.selectFrom('books').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();

  out.transaction = await db.transaction().execute(async (trx) => {
    await trx.insertInto('books').values({ author_id: 2, title: 'The Last Man', year: 1826 }).execute();
    // A transaction holds one pooled connection from BEGIN to COMMIT.
    const held = pooled?.pool.stats().active;
    const inside = await trx.selectFrom('books').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return { inside, held };
  });
  out.rolledBack = await db
    .transaction()
    .execute(async (trx) => {
      await trx.deleteFrom('books').execute();
      throw new Error('roll it back');
    })
    .catch((error: Error) => error.message);
  out.after = await db.selectFrom('books').select('title').orderBy('id').execute();
  out.raw = (await sql<{ v: number }>`SELECT 40 + ${2} AS v`.execute(db)).rows;
  out.leasesOut = pooled?.pool.stats().active;
  await db.destroy();
  return out;
}

async function main(): Promise<void> {
  const [kind, url] = process.argv.slice(2);
  if ((kind !== 'pooled' && kind !== 'plain') || url === undefined) {
    throw new Error('usage: kysely-scenario.ts <pooled|plain> <url>');
  }
  const pooled = kind === 'pooled' ? await createPooledClient({ url }) : undefined;
  const client: Client = pooled ?? createClient({ url });
  try {
    const out = await scenario(client, pooled);
    process.stdout.write(JSON.stringify(out, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value)));
  } finally {
    client.close();
    await pooled?.pool.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
