import type { DriverConnection } from '../drivers/driver';
import type { CheckinEvent, CheckoutEvent, ConnectionId, ConnectionInfo } from '../events';
import type { LeaseEnd, LeaseHolder, PooledConnection as Lease, RowMode } from './pooled-connection';
import type { ConnectionResource } from './resources';

/** A lease in any `rowMode`: the slot only holds it. */
type PooledConnection = Lease<RowMode>;

/**
 * Where a physical connection stands:
 * - `opening`: open, being warmed; not yet lent or idle;
 * - `idle`: in the pool, ready to be lent;
 * - `validating`: pinged after a long idle time before it is lent again;
 * - `leased`: lent to a caller;
 * - `returning`: back from a lease, still being reset (statements in flight,
 *   a rollback, the session restored) before the pool decides its fate;
 * - `closed`: retired, for good.
 */
export type SlotState = 'opening' | 'idle' | 'validating' | 'leased' | 'returning' | 'closed';

/**
 * Where a connection stands in its lifetime: `expired` once past it,
 * `replacing` while a replacement opens (make before break), `retireAtCheckin`
 * when it is to close as soon as no caller holds it.
 */
export type Expiry = 'fresh' | 'expired' | 'replacing' | 'retireAtCheckin';

type Counted = Exclude<SlotState, 'idle' | 'closed'>;

/**
 * The pool, as its slots' leases reach it. One per pool, so a checkout
 * allocates no callbacks of its own.
 */
export interface SlotOwner {
  /** The lease numbered `checkout` of `slot` ended as `how`. */
  checkin(slot: Slot, checkout: number, how: LeaseEnd): void;
  resource<T>(slot: Slot, kind: ConnectionResource<T>): T;
}

/**
 * The pool's open connections, counted by state. Only a slot's transitions
 * change it, so the counts can never disagree with the states.
 */
export class Census {
  readonly #open = new Set<Slot>();
  /** A stack: the most recently returned connection is reused first, so cold ones age out. */
  readonly #idle: Slot[] = [];
  // One field per counted state rather than a record keyed by state: a keyed
  // update on every transition showed in profiles of acquire + release.
  #opening = 0;
  #validating = 0;
  #leased = 0;
  #returning = 0;

  /** Open connections, in every state but `closed`. */
  get size(): number {
    return this.#open.size;
  }

  get idle(): number {
    return this.#idle.length;
  }

  get leased(): number {
    return this.#leased;
  }

  get validating(): number {
    return this.#validating;
  }

  /** The open connections, in the order they opened. */
  slots(): Slot[] {
    return [...this.#open];
  }

  /** The idle connections, idle longest first; a copy. */
  idleSlots(): Slot[] {
    return this.#idle.slice();
  }

  /** The idle connection returned most recently (it is lent first), or `undefined`. */
  lastIdle(): Slot | undefined {
    return this.#idle[this.#idle.length - 1];
  }

  /** The idle connection idle longest, or `undefined`. */
  firstIdle(): Slot | undefined {
    return this.#idle[0];
  }

  /** @internal Moves `slot` between states; only `Slot` calls it. */
  move(slot: Slot, from: SlotState | undefined, to: SlotState): void {
    if (from === undefined) this.#open.add(slot);
    else if (from === 'idle') this.#unstack(slot);
    else if (from !== 'closed') this.#count(from, -1);
    if (to === 'closed') this.#open.delete(slot);
    else if (to === 'idle') this.#idle.push(slot);
    else this.#count(to, 1);
  }

  #count(state: Counted, by: number): void {
    if (state === 'leased') this.#leased += by;
    else if (state === 'returning') this.#returning += by;
    else if (state === 'validating') this.#validating += by;
    else this.#opening += by;
  }

  #unstack(slot: Slot): void {
    // Lending and validating take the top of the stack: O(1). Only closing
    // (idle reaping takes the bottom) searches.
    if (this.#idle[this.#idle.length - 1] === slot) {
      this.#idle.pop();
    } else {
      const at = this.#idle.indexOf(slot);
      if (at !== -1) this.#idle.splice(at, 1);
    }
  }
}

/**
 * One physical connection and what the pool knows of it. Its state changes
 * only through the named transitions below, each of which also moves it in
 * the census; a transition from a state it does not allow is a bug in the
 * pool and throws.
 */
export class Slot implements LeaseHolder {
  readonly id: ConnectionId;
  readonly connection: DriverConnection;
  /** `Date.now()` when the connection was opened. */
  readonly createdAt = Date.now();
  readonly #census: Census;
  readonly #owner: SlotOwner | undefined;
  #state: SlotState = 'opening';
  /** Checkouts so far, including the current one; each is numbered by it. */
  #uses = 0;
  /** Checkouts that ended (their `checkin` was reported). */
  #ended = 0;
  #lease: PooledConnection | WeakRef<PooledConnection> | null = null;
  /** The leak detector's handle on the lease out, if it watches. */
  leakHandle: object | undefined;
  /** `performance.now()` at the last checkout. */
  leasedAt = 0;
  /** How long the last lease was held, set when it comes back. */
  heldMs = 0;
  /** `performance.now()` when it last went idle. */
  idleSince = 0;
  expiry: Expiry = 'fresh';

  constructor(id: ConnectionId, connection: DriverConnection, census: Census, owner?: SlotOwner) {
    this.id = id;
    this.connection = connection;
    this.#census = census;
    this.#owner = owner;
    census.move(this, undefined, 'opening');
  }

  get state(): SlotState {
    return this.#state;
  }

  get uses(): number {
    return this.#uses;
  }

  /** The lease out now, if its holder still has it (a weakly held one may have been collected). */
  get holder(): PooledConnection | null {
    const lease = this.#lease;
    return lease instanceof WeakRef ? (lease.deref() ?? null) : lease;
  }

  /** A lease of this connection ended: the pool hears of it if it is the lease out now (not one revoked or reclaimed). */
  leaseEnded(lease: PooledConnection, how: LeaseEnd): void {
    const held = this.#lease;
    const current = held === lease || (held instanceof WeakRef && held.deref() === lease);
    if (this.#state === 'leased' && current) this.#owner?.checkin(this, this.#uses, how);
  }

  resource<T>(kind: ConnectionResource<T>): T {
    return this.#owner!.resource(this, kind);
  }

  /** The public view, as events carry it. */
  info(): ConnectionInfo {
    return { connectionId: this.id, createdAt: this.createdAt, uses: this.#uses };
  }

  // The two below are `{ ...info(), field }` written out: V8 builds a spread
  // followed by more fields on a slow path, about a microsecond each.

  /** The `checkout` event of the lease out now, whose caller waited `waitedMs`. */
  checkoutEvent(waitedMs: number): CheckoutEvent {
    return { connectionId: this.id, createdAt: this.createdAt, uses: this.#uses, waitedMs };
  }

  /** The `checkin` event of the last lease, held `heldMs`. */
  checkinEvent(): CheckinEvent {
    return { connectionId: this.id, createdAt: this.createdAt, uses: this.#uses, heldMs: this.heldMs };
  }

  /** Into the pool, ready to be lent: opened, validated, or back from a lease. */
  rest(now: number): void {
    const was = this.#state;
    this.#to('idle', was === 'opening' || was === 'validating' || was === 'returning');
    this.idleSince = now;
  }

  /** Out of the pool to be pinged before it is lent. */
  validate(): void {
    this.#to('validating', this.#state === 'idle');
  }

  /**
   * Lent to a caller at `now`, as `lease` (held weakly when `weakly`, so a
   * lease dropped unreleased can be collected). Returns the checkout's number,
   * which its checkin must show.
   */
  lend(lease: PooledConnection, weakly: boolean, now: number): number {
    this.#to('leased', this.#state === 'idle');
    this.leasedAt = now;
    this.#lease = weakly ? new WeakRef(lease) : lease;
    return ++this.#uses;
  }

  /**
   * The lease numbered `checkout` came back at `now`. Returns false, and
   * changes nothing, if that is not the lease out now (it already came back,
   * or the connection was closed under it).
   */
  takeBack(checkout: number, now: number): boolean {
    if (this.#state !== 'leased' || checkout !== this.#uses) return false;
    this.#to('returning', true);
    this.#lease = null;
    this.heldMs = now - this.leasedAt;
    return true;
  }

  /**
   * Marks the current checkout as ended, when its `checkin` is reported.
   * Returns false if it already was: every checkout ends exactly once,
   * whether it came back or the connection was closed under it.
   */
  endLease(): boolean {
    if (this.#ended === this.#uses) return false;
    this.#ended = this.#uses;
    return true;
  }

  /** Retired, from any state. Returns the state it was in, or `undefined` if it was already closed. */
  close(): SlotState | undefined {
    const was = this.#state;
    if (was === 'closed') return undefined;
    this.#to('closed', true);
    this.#lease = null;
    return was;
  }

  /** Moves to `to`; `allowed`: whether the transition's rule admits the state it is in. */
  #to(to: SlotState, allowed: boolean): void {
    const was = this.#state;
    if (!allowed) throw new Error(`libsql-pool: connection ${this.id} cannot go from ${was} to ${to}`);
    this.#state = to;
    this.#census.move(this, was, to);
  }
}

/**
 * Process-wide, so a cache shared by several pools never confuses their
 * connections. Kept on `globalThis` so two installed copies of this package
 * in one process still never hand out the same id.
 */
const ids = ((globalThis as Record<symbol, { next: number }>)[Symbol.for('libsql-pool.connectionIds')] ??= {
  next: 1,
});

export function newConnectionId(): ConnectionId {
  return ids.next++;
}
