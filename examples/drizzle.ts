/**
 * drizzle-orm on the pool: `drizzle()` takes any `@libsql/client` `Client`,
 * and `createPooledClient` is one, so queries run on pooled connections with
 * cached statements and a transaction holds one connection until it settles.
 * Run: `npx ts-node --transpile-only examples/drizzle.ts`
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asc, eq, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/libsql';
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { createPooledClient } from '../lib';

const authors = sqliteTable('authors', {
  id: integer('id').primaryKey(),
  name: text('name').notNull(),
});
const books = sqliteTable('books', {
  id: integer('id').primaryKey(),
  authorId: integer('author_id').notNull().references(() => authors.id),
  title: text('title').notNull(),
});

async function main(dir: string): Promise<void> {
  const client = await createPooledClient({ url: `file:${join(dir, 'library.db')}`, max: 4 });
  const db = drizzle(client);
  try {
    // Schema: drizzle-kit migrations would run through `client.migrate()`; plain DDL here.
    await db.run(sql`CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`);
    await db.run(sql`CREATE TABLE books (id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL REFERENCES authors(id), title TEXT NOT NULL)`);

    const [austen] = await db.insert(authors).values({ name: 'Jane Austen' }).returning();
    await db.insert(books).values([
      { authorId: austen!.id, title: 'Emma' },
      { authorId: austen!.id, title: 'Persuasion' },
    ]);

    // A transaction: drizzle calls client.transaction(), which holds one pooled
    // connection; throwing (or tx.rollback()) rolls it back.
    await db.transaction(async (tx) => {
      const [shelley] = await tx.insert(authors).values({ name: 'Mary Shelley' }).returning({ id: authors.id });
      await tx.insert(books).values({ authorId: shelley!.id, title: 'Frankenstein' });
      console.log(`inside the transaction: ${client.pool.stats().active} connection held`);
    });
    await db
      .transaction(async (tx) => {
        await tx.delete(books);
        tx.rollback(); // throws, and the delete is undone
      })
      .catch(() => console.log('rolled back: nothing deleted'));

    const rows = await db
      .select({ author: authors.name, title: books.title })
      .from(books)
      .innerJoin(authors, eq(books.authorId, authors.id))
      .orderBy(asc(books.id));
    for (const row of rows) console.log(`${row.title} by ${row.author}`);
    const cache = client.pool.stats().statementCache!;
    console.log(`statement cache: ${cache.hits} hits, ${cache.misses} misses`);
  } finally {
    client.close();
    await client.pool.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'libsql-pool-drizzle-'));
main(dir)
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
