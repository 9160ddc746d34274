import type { EventEmitter } from 'eventemitter3';
import type { CloseEvent, PoolEvents } from './events';
import type { PreparedStatementCache } from './statement-cache';

/** What a subscriber needs of a cache: any `PreparedStatementCache<S>` fits. */
export type ClearableCache = Pick<PreparedStatementCache<unknown>, 'clearConnection'>;

/**
 * Keeps a `PreparedStatementCache` in step with a pool: when a connection
 * closes, its statements leave the cache. Several subscribers (several caches)
 * may attach to one pool; each listens for `close` only.
 */
export class StatementCacheSubscriber {
  readonly cache: ClearableCache;
  #pool: EventEmitter<PoolEvents> | undefined;
  readonly #onClose = (event: CloseEvent): void => {
    this.cache.clearConnection(event.connectionId);
  };

  constructor(cache: ClearableCache) {
    this.cache = cache;
  }

  /** Starts evicting on `pool`'s `close` events. Attaching to a second pool detaches from the first. */
  attach(pool: EventEmitter<PoolEvents>): this {
    this.detach();
    pool.on('close', this.#onClose);
    this.#pool = pool;
    return this;
  }

  /** Stops listening. Safe to call when not attached. */
  detach(): void {
    this.#pool?.off('close', this.#onClose);
    this.#pool = undefined;
  }

  get attached(): boolean {
    return this.#pool !== undefined;
  }
}
