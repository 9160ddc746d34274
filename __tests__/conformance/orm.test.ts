import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createClient, type Client } from '@libsql/client';
import { asc, count, eq, gt, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/libsql';
import { migrate } from 'drizzle-orm/libsql/migrator';
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { createPooledClient, type PooledClient } from '../../lib';
import { tempDir } from '../support/helpers';

// ORMs written for @libsql/client run unchanged over the pooled client. Each
// scenario runs once through a plain `createClient` and once through
// `createPooledClient`, each on a fresh database, and the results must match.

const execFileAsync = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

type Tmp = ReturnType<typeof tempDir>;
let tmp: Tmp;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => {
  tmp.dispose();
});

// ---- drizzle-orm (its CommonJS entry, drizzle-orm/libsql -> index.cjs) ----

const authors = sqliteTable('authors', {
  id: integer('id').primaryKey(),
  name: text('name').notNull(),
});
const books = sqliteTable('books', {
  id: integer('id').primaryKey(),
  authorId: integer('author_id')
    .notNull()
    .references(() => authors.id),
  title: text('title').notNull().unique(),
  year: integer('year'),
});

/** A drizzle-kit style migrations folder: the migrator runs it through `client.migrate()`. */
function writeMigrations(dir: string): string {
  const folder = join(dir, 'drizzle');
  mkdirSync(join(folder, 'meta'), { recursive: true });
  const tag = '0000_init';
  writeFileSync(
    join(folder, 'meta', '_journal.json'),
    JSON.stringify({ version: '7', dialect: 'sqlite', entries: [{ idx: 0, version: '6', when: 1700000000000, tag, breakpoints: true }] }),
  );
  writeFileSync(
    join(folder, `${tag}.sql`),
    [
      'CREATE TABLE `authors` (`id` integer PRIMARY KEY NOT NULL, `name` text NOT NULL);',
      'CREATE TABLE `books` (`id` integer PRIMARY KEY NOT NULL, `author_id` integer NOT NULL REFERENCES `authors`(`id`), `title` text NOT NULL, `year` integer);',
      'CREATE UNIQUE INDEX `books_title_unique` ON `books` (`title`);',
    ].join('\n--> statement-breakpoint\n'),
  );
  return folder;
}

/** Runs the scenario; `probes` records what the pool saw (leases held), for the pooled side only. */
async function drizzleScenario(client: Client, pooled: PooledClient | undefined, migrationsFolder: string) {
  const db = drizzle(client);
  const out: Record<string, unknown> = {};
  const probes: Record<string, number | undefined> = {};
  // Schema creation through drizzle's migrator (client.migrate under the hood).
  await migrate(db, { migrationsFolder });
  out.tables = await db.all(sql`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY name`);

  out.insertedAuthors = await db
    .insert(authors)
    .values([{ name: 'Jane Austen' }, { name: 'Mary Shelley' }])
    .returning();
  const inserted = await db.insert(books).values([
    { authorId: 1, title: 'Emma', year: 1815 },
    { authorId: 1, title: 'Persuasion', year: 1817 },
    { authorId: 2, title: 'Frankenstein', year: 1818 },
  ]);
  out.insert = { rowsAffected: inserted.rowsAffected, lastInsertRowid: String(inserted.lastInsertRowid) };
  out.select = await db.select({ title: books.title, year: books.year }).from(books).where(gt(books.year, 1816)).orderBy(asc(books.year));
  out.join = await db
    .select({ author: authors.name, title: books.title })
    .from(books)
    .innerJoin(authors, eq(authors.id, books.authorId))
    .orderBy(asc(books.id));
  out.count = await db.select({ n: count() }).from(books);

  out.transaction = await db.transaction(async (tx) => {
    await tx.insert(books).values({ authorId: 2, title: 'The Last Man', year: 1826 });
    // A transaction holds one pooled connection from BEGIN to COMMIT.
    probes.heldInTransaction = pooled?.pool.stats().active;
    const [inside] = await tx.select({ n: count() }).from(books);
    return { inside };
  });
  out.rolledBack = await db
    .transaction(async (tx) => {
      await tx.delete(books);
      tx.rollback();
    })
    .catch((error: Error) => error.message);
  out.batch = await db.batch([
    db.update(books).set({ year: 1816 }).where(eq(books.title, 'Emma')),
    db.select({ title: books.title, year: books.year }).from(books).where(eq(books.title, 'Emma')),
  ]);
  out.duplicate = await db
    .insert(books)
    .values({ authorId: 1, title: 'Emma' })
    .catch((error: { cause?: { code?: string } }) => error.cause?.code);
  out.after = await db.select({ title: books.title }).from(books).orderBy(asc(books.id));
  probes.leasesOut = pooled?.pool.stats().active;
  return { out, probes };
}

describe('drizzle-orm (drizzle-orm/libsql) over the pooled client', () => {
  test('migrations, inserts, selects, a join, transactions and a batch give the client results', async () => {
    const folder = writeMigrations(tmp.dir);
    const plain = createClient({ url: tmp.url('plain.db') });
    const pooled = await createPooledClient({ url: tmp.url('pooled.db'), max: 4 });
    try {
      const { out: theirs } = await drizzleScenario(plain, undefined, folder);
      const { out: ours, probes } = await drizzleScenario(pooled, pooled, folder);
      expect(probes).toEqual({ heldInTransaction: 1, leasesOut: 0 });
      expect(ours).toStrictEqual(theirs);
      expect(ours.transaction).toEqual({ inside: { n: 4 } });
      // And the values themselves, so that both sides being wrong alike fails too.
      expect(ours.tables).toEqual([{ name: 'authors' }, { name: 'books' }]);
      expect(ours.join).toEqual([
        { author: 'Jane Austen', title: 'Emma' },
        { author: 'Jane Austen', title: 'Persuasion' },
        { author: 'Mary Shelley', title: 'Frankenstein' },
      ]);
      expect(ours.rolledBack).toBe('Rollback');
      expect(ours.duplicate).toBe('SQLITE_CONSTRAINT');
      expect((ours.batch as unknown[])[1]).toEqual([{ title: 'Emma', year: 1816 }]);
      expect(ours.after).toEqual([{ title: 'Emma' }, { title: 'Persuasion' }, { title: 'Frankenstein' }, { title: 'The Last Man' }]);
      expect(pooled.pool.stats().totals.acquired).toBe(pooled.pool.stats().totals.released);
    } finally {
      plain.close();
      pooled.close();
      await pooled.pool.close();
    }
  });

  test('the same against sqld over WebSocket', async () => {
    // Unique table names: the run shares one sqld between test files.
    const suffix = `${process.pid}_${Date.now().toString(36)}`;
    const people = sqliteTable(`orm_people_${suffix}`, { id: integer('id').primaryKey(), name: text('name').notNull() });
    const url = process.env.LIBSQL_POOL_TEST_SQLD_WS!;
    const pooled = await createPooledClient({ url });
    // Closed below: an open WebSocket would keep the test worker from exiting.
    const plain = createClient({ url });
    try {
      const db = drizzle(pooled);
      await db.run(sql.raw(`CREATE TABLE orm_people_${suffix} (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`));
      await db.transaction(async (tx) => {
        await tx.insert(people).values([{ name: 'Ada' }, { name: 'Grace' }]);
        expect(pooled.pool.stats().active).toBe(1);
      });
      const ours = await db.select().from(people).orderBy(asc(people.id));
      const theirs = await drizzle(plain).select().from(people).orderBy(asc(people.id));
      expect(ours).toStrictEqual(theirs);
      expect(ours).toEqual([
        { id: 1, name: 'Ada' },
        { id: 2, name: 'Grace' },
      ]);
    } finally {
      await pooled.execute(`DROP TABLE IF EXISTS orm_people_${suffix}`);
      plain.close();
      pooled.close();
      await pooled.pool.close();
    }
  });
});

// ---- Kysely with @libsql/kysely-libsql ----------------------------------

/**
 * kysely 0.29 is ESM only (no CommonJS build), which Jest's CommonJS runtime
 * cannot load on Node 20, so the scenario runs in plain Node (see the script).
 */
async function kyselyScenario(kind: 'pooled' | 'plain', url: string): Promise<Record<string, unknown>> {
  const { stdout } = await execFileAsync(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', join('__tests__', 'support', 'kysely-scenario.ts'), kind, url],
    { cwd: ROOT, timeout: 60_000 },
  );
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe('Kysely (@libsql/kysely-libsql, given the pooled client) ', () => {
  test('schema, inserts, selects, a join and transactions give the client results', async () => {
    const [ours, theirs] = await Promise.all([
      kyselyScenario('pooled', tmp.url('pooled.db')),
      kyselyScenario('plain', tmp.url('plain.db')),
    ]);
    expect(ours.transaction).toEqual({ inside: { n: 4 }, held: 1 });
    expect(ours.leasesOut).toBe(0);
    delete ours.leasesOut;
    delete (ours.transaction as { held?: number }).held;
    expect(ours).toStrictEqual(theirs);
    expect(ours.join).toEqual([
      { author: 'Jane Austen', title: 'Emma' },
      { author: 'Jane Austen', title: 'Persuasion' },
      { author: 'Mary Shelley', title: 'Frankenstein' },
    ]);
    expect(ours.rolledBack).toBe('roll it back');
    expect(ours.after).toEqual([{ title: 'Emma' }, { title: 'Persuasion' }, { title: 'Frankenstein' }, { title: 'The Last Man' }]);
  }, 60_000); // two child processes, each compiling lib/ with ts-node
});
