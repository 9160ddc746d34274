import type { EventEmitter } from 'eventemitter3';
import type { CloseEvent, ConnectionId, PoolEvents } from './events';
import type { ConnectionResource, ResourceHost } from './pool/resources';
import type { PreparedStatementCache } from './statement-cache';

/** What a subscriber needs of a cache: any `PreparedStatementCache<S>` fits. */
export type ClearableCache = Pick<PreparedStatementCache<unknown>, 'clearConnection'>;

/**
 * Keeps a `PreparedStatementCache` in step with a pool: when a connection
 * closes, its statements leave the cache. Several subscribers (several caches)
 * may attach to one pool.
 *
 * On a pool it is a connection resource (`pool.defineResource`), made eagerly
 * for every connection and disposed of by clearing the connection's entries,
 * so `removeAllListeners()` cannot detach it and every `close` listener sees
 * the entries gone. The pool keeps its own cache in step the same way. On any
 * other emitter of the pool's events it listens for `close`.
 */
export class StatementCacheSubscriber {
  readonly cache: ClearableCache;
  #pool: EventEmitter<PoolEvents> | undefined;
  #resource: ConnectionResource<ConnectionId> | undefined;
  readonly #onClose = (event: CloseEvent): void => {
    this.cache.clearConnection(event.connectionId);
  };

  constructor(cache: ClearableCache) {
    this.cache = cache;
  }

  /** Starts evicting as `pool`'s connections close. Attaching to a second pool detaches from the first. */
  attach(pool: EventEmitter<PoolEvents>): this {
    this.detach();
    if (isResourceHost(pool)) {
      this.#resource = pool.defineResource({
        name: 'statementCache',
        eager: true,
        create: (info) => info.connectionId,
        dispose: (connectionId) => void this.cache.clearConnection(connectionId),
      });
    } else {
      pool.on('close', this.#onClose);
    }
    this.#pool = pool;
    return this;
  }

  /** Stops evicting. Safe to call when not attached. */
  detach(): void {
    const pool = this.#pool;
    if (pool === undefined) return;
    if (this.#resource !== undefined) (pool as unknown as ResourceHost).removeResource(this.#resource);
    else pool.off('close', this.#onClose);
    this.#pool = undefined;
    this.#resource = undefined;
  }

  get attached(): boolean {
    return this.#pool !== undefined;
  }
}

function isResourceHost(pool: object): pool is EventEmitter<PoolEvents> & ResourceHost {
  const host = pool as Partial<ResourceHost>;
  return typeof host.defineResource === 'function' && typeof host.removeResource === 'function';
}
