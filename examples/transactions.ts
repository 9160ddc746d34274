/**
 * Transactions four ways: `pool.transaction(fn)`, a held lease, a batch and the
 * drop-in client's interactive transaction. Each holds one connection for its
 * whole life, so its statements see each other and nobody else's half-done work.
 * Run: `npx ts-node --transpile-only examples/transactions.ts`
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LibsqlBatchError, createPooledClient } from '../lib';

async function main(dir: string): Promise<void> {
  const client = await createPooledClient({ url: `file:${join(dir, 'bank.db')}`, max: 4 });
  const pool = client.pool; // the same pool, for its callback-style helpers
  const balances = async () =>
    (await pool.execute('SELECT name, amount FROM accounts ORDER BY name')).rows.map((r) => `${r.name} ${r.amount}`).join(', ');
  try {
    await pool.execute('CREATE TABLE accounts (name TEXT PRIMARY KEY, amount INTEGER NOT NULL CHECK (amount >= 0))');
    await pool.execute("INSERT INTO accounts VALUES ('alice', 100), ('bob', 0)");

    // 1. A callback: commits when it resolves, rolls back when it throws, always releases.
    const transfer = (from: string, to: string, amount: number) =>
      pool.transaction(async (tx) => {
        await tx.execute('UPDATE accounts SET amount = amount - ? WHERE name = ?', [amount, from]);
        await tx.execute('UPDATE accounts SET amount = amount + ? WHERE name = ?', [amount, to]);
      });
    await transfer('alice', 'bob', 30);
    console.log(`transfer committed: ${await balances()}`);
    const failed = await transfer('bob', 'alice', 500).catch((e: Error & { code?: string }) => e.code);
    console.log(`transfer rolled back (${failed}): ${await balances()}`);

    // Two write transactions at once ('write' = BEGIN IMMEDIATE): the second waits
    // for the lock without blocking the event loop, then commits too.
    await Promise.all([transfer('alice', 'bob', 10), transfer('bob', 'alice', 5)]);
    console.log(`two concurrent transfers committed: ${await balances()}`);

    // 2. A held lease: BEGIN in one call, COMMIT in a later one, same connection.
    {
      await using lease = await pool.acquire();
      await lease.execute('BEGIN IMMEDIATE');
      await lease.execute("UPDATE accounts SET amount = amount + 1 WHERE name = 'bob'");
      await lease.execute('COMMIT');
    } // `await using` released it here
    console.log(`lease transaction committed: ${await balances()}`);

    // 3. A batch: all statements or none; the error names the one that failed.
    const batch = await client
      .batch(["UPDATE accounts SET amount = 0 WHERE name = 'alice'", "INSERT INTO accounts VALUES ('bob', 1)"], 'write')
      .catch((e: LibsqlBatchError) => `statement ${e.statementIndex} (${e.code})`);
    console.log(`batch failed at ${batch}; nothing applied: ${await balances()}`);

    // 4. @libsql/client's interactive transaction: it holds one lease until commit,
    // rollback or close, so always close it in a finally.
    const tx = await client.transaction('write');
    try {
      await tx.execute("UPDATE accounts SET amount = amount * 2 WHERE name = 'alice'");
      console.log(`inside: ${pool.stats().active} lease held; others still see: ${await balances()}`);
      await tx.commit();
    } finally {
      tx.close(); // a no-op after commit; rolls back if something threw first
    }
    console.log(`client transaction committed: ${await balances()}, leases held ${pool.stats().active}`);
  } finally {
    client.close();
    await pool.close(); // the promise close() started
  }
}

const dir = mkdtempSync(join(tmpdir(), 'libsql-pool-tx-'));
main(dir)
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
