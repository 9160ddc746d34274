import type { DriverConnection } from '../drivers/driver';
import type { ConnectionId, ConnectionInfo } from '../events';
import type { PooledConnection } from './pooled-connection';

/** One physical connection and what the pool knows of it. */
export interface Slot {
  readonly id: ConnectionId;
  readonly connection: DriverConnection;
  readonly createdAt: number;
  uses: number;
  /**
   * `resetting`: back from a lease, rolling back a transaction it left open.
   * `validating`: pinged after a long idle time before it is lent again.
   */
  state: 'idle' | 'active' | 'resetting' | 'validating' | 'closed';
  /** The lease out, weakly held when leak detection watches for leases dropped unreleased. */
  lease: PooledConnection | WeakRef<PooledConnection> | null;
  /** Bumped per checkout: a lease ends its own checkout only. */
  leaseSeq: number;
  leakHandle: object | undefined;
  leasedAt: number;
  /** Past its lifetime: replaced (make-before-break), then retired. */
  expired: boolean;
  /** A replacement is being opened. */
  replacing: boolean;
  /** Its replacement is open: retire it as soon as it is not leased. */
  retireAtCheckin: boolean;
  lifetimeTimer: ReturnType<typeof setTimeout> | undefined;
  /** While `resetting`: how long the lease was held, for its deferred `checkin`. */
  heldMs: number;
  idleSince: number;
}


/**
 * Process-wide, so a cache shared by several pools never confuses their
 * connections. Kept on `globalThis` so two copies of this package in one
 * process (a CommonJS and an ESM build, say) still never hand out the same id.
 */
const ids = ((globalThis as Record<symbol, { next: number }>)[Symbol.for('libsql-pool.connectionIds')] ??= {
  next: 1,
});

export function newConnectionId(): ConnectionId {
  return ids.next++;
}


/** The public view of a slot, as events carry it. */
export function info(slot: Slot): ConnectionInfo {
  return { connectionId: slot.id, createdAt: slot.createdAt, uses: slot.uses };
}
