import type { ResolvedConfig } from '../config';
import { connectFailed } from '../errors';
import type { CloseReason, ConnectionId } from '../events';
import type { DriverConnection, DriverStatement } from '../drivers/driver';
import { sessionChange } from '../session-change';
import type { PreparedStatementCache } from '../statement-cache';
import type { PoolStatsRecorder } from '../stats';
import type { Closing } from './closing';
import type { Connector, Opened } from './connector';
import type { PoolEmitter } from './emitter';
import type { Maintenance } from './maintenance';
import { connectStillWanted, connectsToStart, type ConnectPurpose, type PoolCounts } from './sizing';
import { Slot, type Census, type SlotOwner } from './slot';

/** What opening connections needs of the pool: its parts, and the three calls back into it. */
export interface OpeningHost {
  readonly config: Pick<ResolvedConfig, 'url' | 'warmStatements'>;
  readonly connector: Connector;
  readonly slots: Census;
  readonly maintenance: Maintenance;
  readonly events: PoolEmitter;
  readonly stats: PoolStatsRecorder;
  readonly cache: PreparedStatementCache<DriverStatement> | false;
  /** What the new connections' leases call back. */
  readonly owner: SlotOwner;
  readonly closing: Closing;
  readonly waiters: { rejectAll(error: () => unknown): void };
  counts(): PoolCounts;
  retire(slot: Slot, reason: CloseReason): void;
  /** The pool's scheduler: every state change here ends in it. */
  pump(): void;
}

/**
 * Opens connections and adds them to the pool: which to start is read from
 * the sizing rule when the pool's scheduler asks, and each one that opens is
 * warmed, made idle and announced. A failure is counted, announced, and fails
 * the waiters when nothing else could serve them.
 */
export class Opening {
  readonly #h: OpeningHost;

  constructor(host: OpeningHost) {
    this.#h = host;
  }

  /**
   * The connects to start at `now` (the breaker allows one): replacements of
   * expired connections, then one per uncovered waiter and up to `min`. Only
   * the scheduler calls it.
   */
  startConnects(now: number): void {
    const h = this.#h;
    // A replacement keeps the expired connection serving until it is open (make before break).
    h.maintenance.settleExpired(() => h.counts(), (slot, step) => {
      if (step === 'retire') h.retire(slot, 'lifetime');
      else this.open('replace', slot).catch(() => undefined);
    });
    for (const purpose of connectsToStart(h.counts())) {
      // Half open, the breaker admits one probe at a time.
      if (!h.connector.mayConnect(now)) break;
      this.open(purpose).catch(() => undefined);
    }
  }

  /** Opens a connection for `purpose`; `replacing` is the expired one it stands in for. */
  open(purpose: ConnectPurpose, replacing?: Slot): Promise<void> {
    const h = this.#h;
    return h.connector.open(
      () => !h.closing.started && connectStillWanted({ purpose, ...h.counts() }),
      (opened) => this.#opened(opened, replacing),
      (error) => {
        if (replacing !== undefined) replacing.expiry = 'expired';
        h.stats.totals.createErrors++;
        h.events.emit('connectError', h.connector.failed(error));
        // With nothing open and nothing opening, no waiter can be served: fail
        // them now with the cause rather than let each one time out.
        if (h.slots.size === 0 && h.connector.creating === 0) {
          h.waiters.rejectAll(() => connectFailed(h.config.url, error));
        }
        h.pump();
        throw connectFailed(h.config.url, error);
      },
    );
  }

  /** A connect ended: the connection joins the pool (and stands in for `replacing`), or was not needed after all. */
  #opened(opened: Opened | undefined, replacing: Slot | undefined): void {
    const h = this.#h;
    if (opened === undefined) {
      // Not started: nobody needs it any more.
      if (replacing !== undefined) replacing.expiry = 'expired';
      return h.pump();
    }
    const now = performance.now();
    const slot = new Slot(opened.id, opened.connection, h.slots, h.owner);
    const size = h.slots.size;
    h.stats.totals.created++;
    if (h.cache !== false) warmStatements(h.cache, slot.id, slot.connection, h.config.warmStatements);
    h.maintenance.born(slot);
    // Idle before `create` is emitted, so a listener sees it counted as idle
    // and can be served by it.
    if (!h.closing.started) h.maintenance.rest(slot, now);
    h.events.opened(slot.info(), { from: size - 1, to: size, reason: 'open' });
    if (h.closing.started) h.retire(slot, 'poolClosed');
    if (replacing !== undefined && h.maintenance.replaced(replacing)) h.retire(replacing, 'lifetime');
    h.pump();
  }
}

/**
 * Prepares the `count` statements most used in `cache` on a new connection,
 * so it starts warm. One that changes the session is skipped: it must stay
 * uncached (see `PooledConnection`).
 */
export function warmStatements(
  cache: PreparedStatementCache<DriverStatement>,
  connectionId: ConnectionId,
  connection: DriverConnection,
  count: number,
): void {
  if (count === 0) return;
  for (const sql of cache.hotStatements(count)) {
    if (sessionChange(sql) !== undefined) continue;
    try {
      cache.getOrPrepare(connectionId, sql, () => connection.prepare(sql));
    } catch {
      // It may no longer prepare (a dropped table); the first real use will say why.
    }
  }
}
