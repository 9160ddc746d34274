import type { PooledConnection, RowMode } from './pooled-connection';

/*
 * Work the pool runs on a lease for its caller, and gives the lease back
 * after: `pool.execute`, `pool.batch`, `pool.transaction`.
 */

/** `work`'s outcome, once `lease` is back: the caller never sees a result while the connection is still theirs. */
export async function releasedAfter<T>(lease: PooledConnection<RowMode>, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } finally {
    lease.release();
  }
}

/**
 * Runs `fn` inside a transaction on `lease`, opened with `begin` (`BEGIN
 * IMMEDIATE`, …): commits when it resolves, rolls back when it throws.
 */
export async function inTransaction<T, M extends RowMode>(
  lease: PooledConnection<M>,
  fn: (tx: PooledConnection<M>) => Promise<T> | T,
  begin: string,
): Promise<T> {
  await lease.execute(begin);
  let result: T;
  try {
    result = await fn(lease);
  } catch (error) {
    // A failed ROLLBACK must not hide why we rolled back; checkin retries it
    // and closes the connection if it still cannot.
    if (!lease.released && lease.inTransaction()) await lease.execute('ROLLBACK').catch(() => undefined);
    throw error;
  }
  if (lease.inTransaction()) await lease.execute('COMMIT');
  return result;
}
