import { PoolError, describeValue, reportError } from './errors';
import type { ConnectionId } from './events';
import type { CacheStats } from './stats';

/** Why an entry left the cache. */
export type EvictionReason = 'lru' | 'connectionLimit' | 'connectionClosed' | 'cleared' | 'replaced';

/**
 * Which statements a miss through `offer` keeps:
 * - `'always'`: every one, evicting the least recently used entry when full;
 * - `'second-sighting'`: a SQL text is kept the second time it misses (on any
 *   connection). When keeping it would evict an entry, it is kept only if its
 *   two sightings came closer together than the victim's last use is old: an
 *   entry used since the newcomer was first seen has the shorter reuse distance
 *   and stays. So ad-hoc SQL run once costs one prepare, as in `@libsql/client`,
 *   and a batch cycling through more texts than fit keeps those that fit.
 */
export type AdmissionPolicy = 'always' | 'second-sighting';

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
  /** Which misses `offer` keeps (see `AdmissionPolicy`). @default 'second-sighting' */
  admission?: AdmissionPolicy;
}

interface Entry<S> {
  connectionId: ConnectionId;
  sql: string;
  statement: S | undefined;
  preparedAt: number;
  uses: number;
  /** The cache's clock at the entry's last use (see `#clock`). */
  usedAt: number;
}

export const DEFAULT_CACHE_SIZE = 1000;
export const DEFAULT_CACHE_PER_CONNECTION = 100;
export const DEFAULT_ADMISSION: AdmissionPolicy = 'second-sighting';
export const ADMISSION_POLICIES: readonly AdmissionPolicy[] = ['always', 'second-sighting'];

/** The fewest SQL texts the second-sighting policy remembers, however small the cache. */
const MIN_SIGHTINGS = 64;

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
  readonly admission: AdmissionPolicy;
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
  #refused = 0;
  /**
   * A logical clock, one tick per lookup or miss: a hit stamps its entry, a
   * miss stamps its text in `#sightings`, and admission compares the two.
   */
  #clock = 0;
  /**
   * SQL texts that missed recently, with the clock at their last miss: this
   * generation, up to `#sightingsLimit` texts, and the one before it. Global,
   * since a text repeated on one connection is likely to be repeated on the
   * others. Two generations rather than one map in sighting order, so a
   * first sighting costs one insert and no delete: the older generation is
   * dropped whole when this one is full. A text is still remembered until
   * more than `#sightingsLimit` other texts have missed after it; at most
   * twice that many texts are held.
   */
  #sightings = new Map<string, number>();
  #sightingsBefore = new Map<string, number>();
  readonly #sightingsLimit: number;
  /**
   * The text `mayKeep` last looked up, and its last sighting then: the
   * `offer` that follows reuses it rather than search both generations again.
   * Only a sighting (`#admits`) changes what it holds, and each one clears it.
   */
  #peekedSql: string | undefined;
  #peekedLastSeen: number | undefined;

  constructor(options: number | StatementCacheOptions<S> = {}) {
    const opts = typeof options === 'number' ? { maxSize: options } : options;
    this.maxSize = checkBound('maxSize', opts.maxSize ?? DEFAULT_CACHE_SIZE);
    this.maxPerConnection = checkBound(
      'maxPerConnection',
      opts.maxPerConnection ?? Math.min(DEFAULT_CACHE_PER_CONNECTION, this.maxSize),
    );
    this.#onEvict = opts.onEvict;
    this.admission = opts.admission ?? DEFAULT_ADMISSION;
    if (!ADMISSION_POLICIES.includes(this.admission)) {
      throw new PoolError(
        'INVALID_CONFIG',
        `Expected statement cache \`admission\` to be "always" or "second-sighting", got ${describeValue(opts.admission)}`,
      );
    }
    this.#sightingsLimit = Math.max(MIN_SIGHTINGS, this.maxSize);
  }

  /**
   * The statement cached for `(connectionId, sql)`, or the one `prepare()`
   * returns, which is then cached. Counts a hit or a miss. It caches whatever
   * the admission policy: its caller has no way to learn that a statement was
   * not kept and must be released (`lookup` and `offer` are that way).
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

  /**
   * The statement cached for `(connectionId, sql)`, counting a hit, or
   * `undefined`, counting nothing: the caller prepares one and `offer`s it.
   */
  lookup(connectionId: ConnectionId, sql: string): S | undefined {
    const entry = this.#byConnection.get(connectionId)?.get(sql);
    if (entry === undefined || entry.statement === undefined) return undefined;
    this.#touch(entry);
    this.#hits++;
    return entry.statement;
  }

  /**
   * Whether `offer` would keep a miss of `(connectionId, sql)` now, read
   * without counting a miss or remembering a sighting: a caller times only the
   * prepares the cache may keep, since a text run once is not worth two
   * clock reads.
   */
  mayKeep(connectionId: ConnectionId, sql: string): boolean {
    if (this.maxSize === 0 || this.maxPerConnection === 0) return false;
    if (this.admission === 'always') return true;
    const lastSeen = this.#lastSighting(sql);
    this.#peekedSql = sql;
    this.#peekedLastSeen = lastSeen;
    return this.#seenSoonerThanVictim(connectionId, lastSeen);
  }

  /**
   * Counts a miss for a statement the caller just prepared, and keeps it if
   * the admission policy admits it. Returns whether it did: when not, the
   * statement stays the caller's, to run and then release (`dispose`), and
   * `admissionsRefused` counts it. A prepare not timed (`prepareTimeUs`
   * omitted) is left out of `avgPrepareTimeUs`.
   */
  offer(connectionId: ConnectionId, sql: string, statement: S, prepareTimeUs?: number): boolean {
    this.#misses++;
    if (prepareTimeUs !== undefined) {
      this.#prepared++;
      this.#prepareTimeUs += prepareTimeUs;
    }
    if (!this.#admits(connectionId, sql)) {
      this.#refused++;
      return false;
    }
    this.#put(connectionId, sql, statement);
    return true;
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
      admissionsRefused: this.#refused,
      avgPrepareTimeUs: this.#prepared === 0 ? 0 : this.#prepareTimeUs / this.#prepared,
    };
  }

  #store(connectionId: ConnectionId, sql: string, statement: S | undefined, prepareTimeUs: number): void {
    this.#misses++;
    this.#prepared++;
    this.#prepareTimeUs += prepareTimeUs;
    this.#put(connectionId, sql, statement);
  }

  /** Whether a miss of `sql` on `connectionId` is to be kept (see `AdmissionPolicy`), remembering the sighting. */
  #admits(connectionId: ConnectionId, sql: string): boolean {
    if (this.maxSize === 0 || this.maxPerConnection === 0) return false;
    if (this.admission === 'always') return true;
    const lastSeen = this.#peekedSql === sql ? this.#peekedLastSeen : this.#lastSighting(sql);
    this.#peekedSql = undefined;
    if (this.#sightings.size >= this.#sightingsLimit) {
      this.#sightingsBefore = this.#sightings;
      this.#sightings = new Map();
    }
    this.#sightings.set(sql, ++this.#clock);
    return this.#seenSoonerThanVictim(connectionId, lastSeen);
  }

  /** The clock at `sql`'s last miss, if it is remembered. */
  #lastSighting(sql: string): number | undefined {
    return this.#sightings.get(sql) ?? this.#sightingsBefore.get(sql);
  }

  /** Whether a text last missed at `lastSeen` (`undefined`: not remembered) is to take the place it needs. */
  #seenSoonerThanVictim(connectionId: ConnectionId, lastSeen: number | undefined): boolean {
    if (lastSeen === undefined) return false;
    const victim = this.#victimFor(connectionId);
    // Reuse distance: the victim was used after this text's last sighting, so
    // it comes back sooner than this one does.
    return victim === undefined || victim.usedAt < lastSeen;
  }

  /** The entry that inserting a new one for `connectionId` would evict, if any. */
  #victimFor(connectionId: ConnectionId): Entry<S> | undefined {
    const entries = this.#byConnection.get(connectionId);
    if (entries !== undefined && entries.size >= this.maxPerConnection) return entries.values().next().value;
    if (this.#lru.size >= this.maxSize) return this.#lru.values().next().value;
    return undefined;
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
    const entry: Entry<S> = { connectionId, sql, statement, preparedAt: Date.now(), uses: 0, usedAt: ++this.#clock };
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
    entry.usedAt = ++this.#clock;
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
  setting:
    | false
    | Pick<StatementCacheOptions<S>, 'maxSize' | 'maxPerConnection' | 'admission'>
    | PreparedStatementCache<unknown>,
): PreparedStatementCache<S> | false {
  if (setting === false) return false;
  if (setting instanceof PreparedStatementCache) return setting as PreparedStatementCache<S>;
  return new PreparedStatementCache<S>({ ...setting, onEvict: (entry) => entry.statement?.dispose?.() });
}
