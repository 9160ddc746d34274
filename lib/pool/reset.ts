import type { CloseReason } from '../events';
import type { DriverConnection } from '../drivers/driver';
import type { LeaseEnd } from './pooled-connection';
import type { SessionVerdict } from './session';

/** What `resetAfterLease` asks of the pool. */
export interface ResetHooks {
  /** Whether the connection is still back from its lease (the pool may have closed it meanwhile). */
  readonly returning: () => boolean;
  /** Runs the checkin hook and restores the session; `undefined` when there is nothing to do. */
  readonly restore: (how: LeaseEnd) => Promise<SessionVerdict> | undefined;
  /** The connection is ready for the pool's decision; `failure` says why it must close, if it must. */
  readonly done: (how: LeaseEnd, failure?: CloseReason) => void;
}

/**
 * Readies a connection back from a lease for the pool's decision: statements
 * the lease left running finish, a transaction it left open is rolled back,
 * then the session is restored. A lease that left nothing behind, the common
 * case, is done at once, with no promise.
 */
export function resetAfterLease(connection: DriverConnection, how: LeaseEnd, hooks: ResetHooks): void {
  const pending = how.destroy ? undefined : connection.pending?.();
  if (pending === undefined) return rollBack(connection, how, hooks);
  // Statements of this lease still run (not awaited): they finish on this
  // connection, outside anyone else's lease, before it is reset and lent.
  void pending.then(() => {
    if (hooks.returning()) rollBack(connection, how, hooks);
  });
}

function rollBack(connection: DriverConnection, how: LeaseEnd, hooks: ResetHooks): void {
  if (how.destroy || connection.brokenBy !== undefined || !connection.inTransaction()) return restore(how, hooks);
  // A connection must never reach the next caller inside this one's
  // transaction. The lease counts as returned once the rollback is done.
  connection.rollback().then(
    () => restore(how, hooks),
    (error: unknown) => hooks.done({ destroy: true, error }, 'error'),
  );
}

/** A connection that fails the checkin hook or cannot be restored is closed, never lent. */
function restore(how: LeaseEnd, hooks: ResetHooks): void {
  const checking = hooks.restore(how);
  if (checking === undefined) return hooks.done(how);
  void checking.then((verdict) =>
    verdict === undefined ? hooks.done(how) : hooks.done({ destroy: true, error: verdict.error }, verdict.reason),
  );
}
