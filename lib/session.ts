import type { CheckinEvent } from './events';
import type { PooledConnection } from './pool/pooled-connection';

// The per-connection hooks a pool runs (`PoolConfig.afterConnect` and
// `afterRelease`). What the pool does around them, and what it restores at
// checkin, lives in `pool/session.ts`.

/**
 * What a hook gets: the SQL side of one connection, for the duration of the
 * call. Like a lease it runs statements; unlike one it cannot be released or
 * destroyed, and it stops working when the hook returns.
 */
export type SessionConnection = Pick<
  PooledConnection,
  'connectionId' | 'execute' | 'batch' | 'executeMultiple' | 'inTransaction'
>;

/** Runs on each new connection before it is lent (see `PoolConfig.afterConnect`). */
export type AfterConnectHook = (connection: SessionConnection) => void | Promise<void>;

/** Decides at checkin whether a connection may be lent again (see `PoolConfig.afterRelease`). */
export type AfterReleaseHook = (connection: SessionConnection, info: CheckinEvent) => boolean | Promise<boolean>;
