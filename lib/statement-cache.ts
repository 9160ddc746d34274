import { PoolError, describeValue, reportError } from './errors';
import type { ConnectionId } from './events';
import type { CacheStats } from './stats';

/** Why an entry left the cache. */
export type EvictionReason = 'lru' | 'connectionLimit' | 'connectionClosed' | 'cleared' | 'replaced';

/** One cached statement, as handed to `onEvict`. */
export interface CacheEntry<S> {
  readonly connectionId: ConnectionId;
  readonly sql: string;
  /** `undefined` for entries recorded through `recordMiss`, which keeps metadata only. */
  readonly statement: S | undefined;
  readonly preparedAt: number;
  readonly uses: number;
}

export interface StatementCacheOptions<S> {
  /** Most entries across all connections. `0` disables caching. @default 1000 */
  maxSize?: number;
  /** Most entries for one connection. @default 100 */
  maxPerConnection?: number;
  /** Called after an entry leaves the cache, so its owner can release what it holds. */
  onEvict?: (entry: CacheEntry<S>, reason: EvictionReason) => void;
}

interface Entry<S> {
  connectionId: ConnectionId;
  sql: string;
  statement: S | undefined;
  preparedAt: number;
  uses: number;
}

export const DEFAULT_CACHE_SIZE = 1000;
export const DEFAULT_CACHE_PER_CONNECTION = 100;

/**
 * `(connectionId, sql) -> prepared statement`, bounded in total and per
 * connection, evicting the least recently used entry in O(1).
 *
 * Recency lives in two insertion-ordered collections: one `Set` of every
 * entry (the global LRU) and one `Map` per connection (its own LRU). A hit
 * moves the entry to the end of both; the oldest entry is always first.
 *
 * A statement belongs to exactly one connection and must never run on
 * another, which is why the key includes the connection id. Ids are unique
 * across the process, so one cache may serve several pools.
 */
export class PreparedStatementCache<S = unknown> {
  readonly maxSize: number;
  readonly maxPerConnection: number;
  #onEvict: ((entry: CacheEntry<S>, reason: EvictionReason) => void) | undefined;
  #byConnection = new Map<ConnectionId, Map<string, Entry<S>>>();
  #lru = new Set<Entry<S>>();
  /** The entry last added or touched: the newest in both its connection's order and the global one. */
  #newest: Entry<S> | undefined;
  #hits = 0;
  #misses = 0;
  #evictions = 0;
  #cleared = 0;
  #peakSize = 0;
  #prepared = 0;
  #prepareTimeUs = 0;

  constructor(options: number | StatementCacheOptions<S> = {}) {
    const opts = typeof options === 'number' ? { maxSize: options } : options;
    this.maxSize = checkBound('maxSize', opts.maxSize ?? DEFAULT_CACHE_SIZE);
    this.maxPerConnection = checkBound(
      'maxPerConnection',
      opts.maxPerConnection ?? Math.min(DEFAULT_CACHE_PER_CONNECTION, this.maxSize),
    );
    this.#onEvict = opts.onEvict;
  }

  /**
   * The statement cached for `(connectionId, sql)`, or the one `prepare()`
   * returns, which is then cached. Counts a hit or a miss.
   */
  getOrPrepare(connectionId: ConnectionId, sql: string, prepare: () => S): S {
    const entry = this.#byConnection.get(connectionId)?.get(sql);
    if (entry !== undefined && entry.statement !== undefined) {
      this.#touch(entry);
      this.#hits++;
      return entry.statement;
    }
    const started = performance.now();
    const statement = prepare();
    this.#store(connectionId, sql, statement, (performance.now() - started) * 1000);
    return statement;
  }

  /** The cached statement, touching its recency; no hit or miss is counted. */
  get(connectionId: ConnectionId, sql: string): S | undefined {
    const entry = this.#byConnection.get(connectionId)?.get(sql);
    if (entry === undefined) return undefined;
    this.#touch(entry);
    return entry.statement;
  }

  /** Caches a statement prepared elsewhere, replacing any entry for the same key. */
  set(connectionId: ConnectionId, sql: string, statement: S): void {
    this.#put(connectionId, sql, statement);
  }

  /** Whether `(connectionId, sql)` has an entry. Does not touch recency. */
  isCached(connectionId: ConnectionId, sql: string): boolean {
    return this.#byConnection.get(connectionId)?.has(sql) ?? false;
  }

  /**
   * For callers that keep their statements themselves and want only the
   * bookkeeping: counts a hit for an entry that exists; returns whether it did.
   */
  recordHit(connectionId: ConnectionId, sql: string): boolean {
    const entry = this.#byConnection.get(connectionId)?.get(sql);
    if (entry === undefined) return false;
    this.#touch(entry);
    this.#hits++;
    return true;
  }

  /**
   * For callers that keep their statements themselves: counts a miss and
   * records `(connectionId, sql)` as prepared, with no statement object, so
   * they get sizes and statistics.
   */
  recordMiss(connectionId: ConnectionId, sql: string, prepareTimeUs: number): void {
    this.#store(connectionId, sql, undefined, prepareTimeUs);
  }

  /** Removes one entry; returns whether there was one. */
  delete(connectionId: ConnectionId, sql: string): boolean {
    const entry = this.#byConnection.get(connectionId)?.get(sql);
    if (entry === undefined) return false;
    this.#remove(entry, 'cleared');
    return true;
  }

  /** Removes every entry of a connection (it closed); returns how many. */
  clearConnection(connectionId: ConnectionId): number {
    const entries = this.#byConnection.get(connectionId);
    if (entries === undefined) return 0;
    const removed = entries.size;
    for (const entry of [...entries.values()]) this.#remove(entry, 'connectionClosed');
    this.#cleared += removed;
    return removed;
  }

  /** Removes every entry. Statistics other than sizes are kept. */
  clear(): void {
    for (const entry of [...this.#lru]) this.#remove(entry, 'cleared');
  }

  /**
   * The `k` statements used most across all connections (uses summed per
   * SQL text), most used first. O(size); the pool calls it per new connection.
   */
  hotStatements(k: number): string[] {
    const uses = new Map<string, number>();
    for (const entry of this.#lru) uses.set(entry.sql, (uses.get(entry.sql) ?? 0) + entry.uses + 1);
    return [...uses.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([sql]) => sql);
  }

  /** Number of entries of one connection. */
  connectionSize(connectionId: ConnectionId): number {
    return this.#byConnection.get(connectionId)?.size ?? 0;
  }

  /** Connections that currently have entries. */
  connectionCount(): number {
    return this.#byConnection.size;
  }

  get size(): number {
    return this.#lru.size;
  }

  stats(): CacheStats {
    const lookups = this.#hits + this.#misses;
    return {
      hits: this.#hits,
      misses: this.#misses,
      evictions: this.#evictions,
      cleared: this.#cleared,
      size: this.#lru.size,
      peakSize: this.#peakSize,
      connections: this.#byConnection.size,
      hitRate: lookups === 0 ? 0 : this.#hits / lookups,
      avgPrepareTimeUs: this.#prepared === 0 ? 0 : this.#prepareTimeUs / this.#prepared,
    };
  }

  #store(connectionId: ConnectionId, sql: string, statement: S | undefined, prepareTimeUs: number): void {
    this.#misses++;
    this.#prepared++;
    this.#prepareTimeUs += prepareTimeUs;
    this.#put(connectionId, sql, statement);
  }

  #put(connectionId: ConnectionId, sql: string, statement: S | undefined): void {
    if (this.maxSize === 0) return;
    let entries = this.#byConnection.get(connectionId);
    const previous = entries?.get(sql);
    if (previous !== undefined) {
      if (previous.statement === statement) {
        this.#touch(previous);
        return;
      }
      this.#remove(previous, 'replaced');
      entries = this.#byConnection.get(connectionId);
    }
    if (entries === undefined) {
      entries = new Map();
      this.#byConnection.set(connectionId, entries);
    }
    const entry: Entry<S> = { connectionId, sql, statement, preparedAt: Date.now(), uses: 0 };
    entries.set(sql, entry);
    this.#lru.add(entry);
    this.#newest = entry;
    // Evict after inserting so a bound of N always leaves exactly N entries.
    if (entries.size > this.maxPerConnection) {
      this.#evict(entries.values().next().value as Entry<S>, 'connectionLimit');
    }
    if (this.#lru.size > this.maxSize) {
      this.#evict(this.#lru.values().next().value as Entry<S>, 'lru');
    }
    if (this.#lru.size > this.#peakSize) this.#peakSize = this.#lru.size;
  }

  #touch(entry: Entry<S>): void {
    entry.uses++;
    // Already the most recent everywhere (a statement run over and over):
    // nothing to reorder. Checking costs far less than two deletes and re-adds.
    if (this.#newest === entry) return;
    const entries = this.#byConnection.get(entry.connectionId)!;
    entries.delete(entry.sql);
    entries.set(entry.sql, entry);
    this.#lru.delete(entry);
    this.#lru.add(entry);
    this.#newest = entry;
  }

  #evict(entry: Entry<S>, reason: EvictionReason): void {
    this.#evictions++;
    this.#remove(entry, reason);
  }

  #remove(entry: Entry<S>, reason: EvictionReason): void {
    const entries = this.#byConnection.get(entry.connectionId);
    if (entries === undefined || entries.get(entry.sql) !== entry) return;
    entries.delete(entry.sql);
    if (entries.size === 0) this.#byConnection.delete(entry.connectionId);
    this.#lru.delete(entry);
    if (this.#newest === entry) this.#newest = undefined;
    // The hook runs after the entry is gone, so it may call back into the cache;
    // a hook that throws must not leave the remaining entries half-cleared.
    if (this.#onEvict !== undefined) {
      try {
        this.#onEvict(entry, reason);
      } catch (error) {
        reportError(error, 'PreparedStatementCache onEvict');
      }
    }
  }
}

function checkBound(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new PoolError(
      'INVALID_CONFIG',
      `Expected statement cache \`${name}\` to be an integer >= 0, got ${describeValue(value)}`,
    );
  }
  return value;
}

/**
 * The cache a pool keeps for its `statementCache` setting: a cache of its own
 * with those bounds, which releases what an evicted statement holds (a
 * server's stored SQL, say); none; or a shared one as it is, whose owner
 * chose what eviction does.
 */
export function statementCacheFor<S extends { dispose?(): void }>(
  setting: false | Pick<StatementCacheOptions<S>, 'maxSize' | 'maxPerConnection'> | PreparedStatementCache<unknown>,
): PreparedStatementCache<S> | false {
  if (setting === false) return false;
  if (setting instanceof PreparedStatementCache) return setting as PreparedStatementCache<S>;
  return new PreparedStatementCache<S>({ ...setting, onEvict: (entry) => entry.statement?.dispose?.() });
}
