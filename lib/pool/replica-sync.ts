import { LibsqlError } from '@libsql/core/api';
import type { DriverConnection, Replicated } from '../drivers/driver';

/*
 * `pool.sync()` for an embedded replica, whose one file every connection of
 * the pool shares. Calls run one at a time pool-wide, as on a single client:
 * a second waits for the first, then syncs again, so it still pulls what the
 * primary wrote after the first began.
 */

/** Runs syncs one after another: each starts once every earlier one has settled, whatever its outcome. */
export class SyncQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run(sync: () => Promise<Replicated>): Promise<Replicated> {
    const result = this.#tail.then(sync);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

/** Pulls changes from the primary on `connection`; fails with `SYNC_NOT_SUPPORTED` where there is no replica. */
export async function syncReplica(connection: DriverConnection): Promise<Replicated> {
  if (connection.sync === undefined) {
    throw new LibsqlError('sync() needs an embedded replica: a "file:" url with `syncUrl`', 'SYNC_NOT_SUPPORTED');
  }
  return connection.sync();
}
