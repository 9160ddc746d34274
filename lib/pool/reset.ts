import type { CloseReason } from '../events';
import type { DriverConnection } from '../drivers/driver';
import type { LeaseEnd } from './pooled-connection';
import type { SessionVerdict } from './session';

/**
 * What `resetAfterLease` asks of the pool, about the connection `S` it is
 * resetting. The pool keeps one, so a checkin allocates no callbacks.
 */
export interface ResetHooks<S> {
  /** Whether the connection is still back from its lease (the pool may have closed it meanwhile). */
  readonly returning: (subject: S) => boolean;
  /** Runs the checkin hook and restores the session; `undefined` when there is nothing to do. */
  readonly restore: (subject: S, how: LeaseEnd) => Promise<SessionVerdict> | undefined;
  /** The connection is ready for the pool's decision; `failure` says why it must close, if it must. */
  readonly done: (subject: S, how: LeaseEnd, failure?: CloseReason) => void;
}

/**
 * Readies a connection back from a lease for the pool's decision: statements
 * the lease left running finish, a transaction it left open is rolled back,
 * then the session is restored. A lease that left nothing behind, the common
 * case, is done at once, with no promise.
 */
export function resetAfterLease<S>(subject: S, connection: DriverConnection, how: LeaseEnd, hooks: ResetHooks<S>): void {
  const pending = how.destroy ? undefined : connection.pending?.();
  if (pending === undefined) return rollBack(subject, connection, how, hooks);
  // Statements of this lease still run (not awaited): they finish on this
  // connection, outside anyone else's lease, before it is reset and lent.
  void pending.then(() => {
    if (hooks.returning(subject)) rollBack(subject, connection, how, hooks);
  });
}

function rollBack<S>(subject: S, connection: DriverConnection, how: LeaseEnd, hooks: ResetHooks<S>): void {
  // A lease that ran nothing that opens a transaction left none: the driver is not asked (for libsql, a native call).
  if (how.destroy || how.noTransaction === true || connection.brokenBy !== undefined || !connection.inTransaction()) {
    return restore(subject, how, hooks);
  }
  // A connection must never reach the next caller inside this one's
  // transaction. The lease counts as returned once the rollback is done.
  connection.rollback().then(
    () => restore(subject, how, hooks),
    (error: unknown) => hooks.done(subject, { destroy: true, error }, 'error'),
  );
}

/** A connection that fails the checkin hook or cannot be restored is closed, never lent. */
function restore<S>(subject: S, how: LeaseEnd, hooks: ResetHooks<S>): void {
  const checking = hooks.restore(subject, how);
  if (checking === undefined) return hooks.done(subject, how);
  void checking.then((verdict) =>
    verdict === undefined ? hooks.done(subject, how) : hooks.done(subject, { destroy: true, error: verdict.error }, verdict.reason),
  );
}
