import { EventEmitter } from 'eventemitter3';
import fc from 'fast-check';
import {
  PreparedStatementCache,
  StatementCacheSubscriber,
  type CacheEntry,
  type CloseEvent,
  type CloseReason,
  type EvictionReason,
  type PoolEvents,
} from '../../lib';

type Evicted = { connectionId: number; sql: string; statement: unknown; reason: EvictionReason };

/** A cache whose `onEvict` calls are recorded in order. */
function recordingCache<S = string>(
  options: { maxSize?: number; maxPerConnection?: number; admission?: 'always' | 'second-sighting' } = {},
): { cache: PreparedStatementCache<S>; evicted: Evicted[] } {
  const evicted: Evicted[] = [];
  const cache = new PreparedStatementCache<S>({
    ...options,
    onEvict: (entry: CacheEntry<S>, reason: EvictionReason) => {
      evicted.push({ connectionId: entry.connectionId, sql: entry.sql, statement: entry.statement, reason });
    },
  });
  return { cache, evicted };
}

/** Fills `(id, sql)` with the statement `${id}:${sql}`. */
function put(cache: PreparedStatementCache<string>, id: number, sql: string): string {
  return cache.getOrPrepare(id, sql, () => `${id}:${sql}`);
}

function closeEvent(connectionId: number, reason: CloseReason = 'destroyed'): CloseEvent {
  return { connectionId, createdAt: Date.now(), uses: 1, reason };
}

describe('PreparedStatementCache construction', () => {
  test('new PreparedStatementCache(100) sets maxSize 100 and a per-connection bound of 100', () => {
    const cache = new PreparedStatementCache(100);
    expect(cache.maxSize).toBe(100);
    expect(cache.maxPerConnection).toBe(100);
    expect(cache.size).toBe(0);
  });

  test('a small numeric maxSize also caps the default per-connection bound', () => {
    const cache = new PreparedStatementCache(5);
    expect(cache.maxSize).toBe(5);
    expect(cache.maxPerConnection).toBe(5);
  });

  test('the options form sets both bounds', () => {
    const cache = new PreparedStatementCache({ maxSize: 50, maxPerConnection: 7 });
    expect(cache.maxSize).toBe(50);
    expect(cache.maxPerConnection).toBe(7);
  });

  test('no argument uses the documented defaults (1000 total, 100 per connection)', () => {
    const cache = new PreparedStatementCache();
    expect(cache.maxSize).toBe(1000);
    expect(cache.maxPerConnection).toBe(100);
  });

  test.each<[string, unknown]>([
    ['maxSize -1', { maxSize: -1 }],
    ['maxSize 1.5', { maxSize: 1.5 }],
    ['maxSize NaN', { maxSize: Number.NaN }],
    ['maxSize Infinity', { maxSize: Number.POSITIVE_INFINITY }],
    ['maxSize "10"', { maxSize: '10' }],
    ['maxPerConnection -1', { maxPerConnection: -1 }],
    ['maxPerConnection 2.5', { maxPerConnection: 2.5 }],
    ['numeric -5', -5],
  ])('invalid bounds throw PoolError INVALID_CONFIG (%s)', (_name, options) => {
    const make = () => new PreparedStatementCache(options as number);
    expect(make).toBePoolError('INVALID_CONFIG');
    expect(make).toThrow(/maxSize|maxPerConnection/);
  });
});

describe('PreparedStatementCache lookups and statistics', () => {
  test('getOrPrepare prepares once, then returns the cached statement', () => {
    const cache = new PreparedStatementCache<{ sql: string }>(10);
    const prepare = jest.fn(() => ({ sql: 'SELECT 1' }));
    const first = cache.getOrPrepare(1, 'SELECT 1', prepare);
    const second = cache.getOrPrepare(1, 'SELECT 1', prepare);
    const third = cache.getOrPrepare(1, 'SELECT 1', prepare);
    expect(prepare).toHaveBeenCalledTimes(1);
    expect(second).toBe(first);
    expect(third).toBe(first);
  });

  test('a throwing prepare caches nothing and propagates the error', () => {
    const cache = new PreparedStatementCache<string>(10);
    expect(() =>
      cache.getOrPrepare(1, 'SELEC', () => {
        throw new Error('syntax error');
      }),
    ).toThrow('syntax error');
    expect(cache.isCached(1, 'SELEC')).toBe(false);
    expect(cache.size).toBe(0);
  });

  test('counts hits, misses, hitRate and avgPrepareTimeUs', () => {
    const cache = new PreparedStatementCache<string>(10);
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 0, hitRate: 0, avgPrepareTimeUs: 0 });
    put(cache, 1, 'a');
    put(cache, 1, 'a');
    put(cache, 1, 'a');
    put(cache, 1, 'b');
    const stats = cache.stats();
    expect(stats.hits).toBe(2);
    expect(stats.misses).toBe(2);
    expect(stats.hitRate).toBe(0.5);
    expect(stats.avgPrepareTimeUs).toBeGreaterThanOrEqual(0);
    expect(Number.isFinite(stats.avgPrepareTimeUs)).toBe(true);
  });

  test('avgPrepareTimeUs is the mean of the recorded prepare times', () => {
    const cache = new PreparedStatementCache(10);
    cache.recordMiss(1, 'a', 100);
    cache.recordMiss(1, 'b', 300);
    expect(cache.stats().avgPrepareTimeUs).toBe(200);
    expect(cache.stats().misses).toBe(2);
  });

  test('get returns the statement without counting a hit or a miss', () => {
    const cache = new PreparedStatementCache<string>(10);
    put(cache, 1, 'a');
    expect(cache.get(1, 'a')).toBe('1:a');
    expect(cache.get(1, 'missing')).toBeUndefined();
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 1 });
  });

  test('keys of two connections with the same SQL are independent', () => {
    const cache = new PreparedStatementCache<string>(10);
    const prepare = jest.fn((id: number) => `stmt-of-${id}`);
    expect(cache.getOrPrepare(1, 'SELECT 1', () => prepare(1))).toBe('stmt-of-1');
    expect(cache.getOrPrepare(2, 'SELECT 1', () => prepare(2))).toBe('stmt-of-2');
    expect(prepare).toHaveBeenCalledTimes(2);
    expect(cache.get(1, 'SELECT 1')).toBe('stmt-of-1');
    expect(cache.get(2, 'SELECT 1')).toBe('stmt-of-2');
    cache.clearConnection(1);
    expect(cache.isCached(1, 'SELECT 1')).toBe(false);
    expect(cache.get(2, 'SELECT 1')).toBe('stmt-of-2');
  });

  test('maxSize: 0 disables caching: every lookup prepares and nothing is stored', () => {
    const { cache, evicted } = recordingCache({ maxSize: 0 });
    expect(cache.maxPerConnection).toBe(0);
    const prepare = jest.fn(() => 'stmt');
    expect(cache.getOrPrepare(1, 'a', prepare)).toBe('stmt');
    expect(cache.getOrPrepare(1, 'a', prepare)).toBe('stmt');
    cache.set(1, 'b', 'x');
    cache.recordMiss(1, 'c', 10);
    expect(prepare).toHaveBeenCalledTimes(2);
    expect(cache.size).toBe(0);
    expect(cache.isCached(1, 'a')).toBe(false);
    expect(cache.stats()).toMatchObject({ size: 0, peakSize: 0, hits: 0, misses: 3, connections: 0 });
    expect(evicted).toEqual([]);
  });
});

describe('PreparedStatementCache eviction', () => {
  test('maxSize evicts the least recently used entry, not the oldest inserted', () => {
    // maxPerConnection defaults to min(100, maxSize); raise it so only the total bound applies.
    const { cache, evicted } = recordingCache({ maxSize: 3, maxPerConnection: 10 });
    put(cache, 1, 'a');
    put(cache, 1, 'b');
    put(cache, 1, 'c');
    put(cache, 1, 'a'); // touch: 'b' is now least recently used
    put(cache, 1, 'd');
    expect(cache.size).toBe(3);
    expect(cache.isCached(1, 'a')).toBe(true);
    expect(cache.isCached(1, 'b')).toBe(false);
    expect(cache.isCached(1, 'c')).toBe(true);
    expect(cache.isCached(1, 'd')).toBe(true);
    expect(evicted).toEqual([{ connectionId: 1, sql: 'b', statement: '1:b', reason: 'lru' }]);
    expect(cache.stats().evictions).toBe(1);
  });

  test('maxSize eviction is global across connections', () => {
    const { cache, evicted } = recordingCache({ maxSize: 2 });
    put(cache, 1, 'a');
    put(cache, 2, 'a');
    put(cache, 3, 'a');
    expect(cache.size).toBe(2);
    expect(evicted).toEqual([{ connectionId: 1, sql: 'a', statement: '1:a', reason: 'lru' }]);
    expect(cache.connectionCount()).toBe(2);
  });

  test('get touches recency, so a fetched entry survives the next eviction', () => {
    const { cache, evicted } = recordingCache({ maxSize: 2, maxPerConnection: 10 });
    put(cache, 1, 'a');
    put(cache, 1, 'b');
    cache.get(1, 'a');
    put(cache, 1, 'c');
    expect(evicted.map((e) => e.sql)).toEqual(['b']);
  });

  test('maxPerConnection evicts only that connection\'s least recently used entry', () => {
    const { cache, evicted } = recordingCache({ maxSize: 100, maxPerConnection: 2 });
    put(cache, 2, 'old-on-2'); // globally oldest, but on another connection
    put(cache, 1, 'a');
    put(cache, 1, 'b');
    put(cache, 1, 'a'); // touch: 'b' is 1's LRU
    put(cache, 1, 'c');
    expect(evicted).toEqual([{ connectionId: 1, sql: 'b', statement: '1:b', reason: 'connectionLimit' }]);
    expect(cache.connectionSize(1)).toBe(2);
    expect(cache.isCached(2, 'old-on-2')).toBe(true);
    expect(cache.stats().evictions).toBe(1);
  });

  test('onEvict receives the whole entry and the reason', () => {
    const entries: Array<[CacheEntry<string>, EvictionReason]> = [];
    const cache = new PreparedStatementCache<string>({
      maxSize: 1,
      onEvict: (entry, reason) => entries.push([entry, reason]),
    });
    const before = Date.now();
    put(cache, 7, 'a');
    put(cache, 7, 'a'); // one use
    put(cache, 8, 'b');
    expect(entries).toHaveLength(1);
    const [entry, reason] = entries[0]!;
    expect(reason).toBe('lru');
    expect(entry).toMatchObject({ connectionId: 7, sql: 'a', statement: '7:a', uses: 1 });
    expect(entry.preparedAt).toBeGreaterThanOrEqual(before);
    expect(entry.preparedAt).toBeLessThanOrEqual(Date.now());
  });

  test('onEvict reports every reason: lru, connectionLimit, connectionClosed, cleared, replaced', () => {
    const { cache, evicted } = recordingCache({ maxSize: 3, maxPerConnection: 2 });
    put(cache, 1, 'a');
    put(cache, 1, 'b');
    put(cache, 1, 'c'); // 1:a connectionLimit
    put(cache, 2, 'x');
    put(cache, 2, 'y'); // 1:b lru (total 4 > 3)
    cache.set(2, 'x', 'new-x'); // replaced
    cache.clearConnection(1); // 1:c connectionClosed
    cache.clear(); // 2:y and 2:x cleared
    expect(evicted.map((e) => [`${e.connectionId}:${e.sql}`, e.reason])).toEqual([
      ['1:a', 'connectionLimit'],
      ['1:b', 'lru'],
      ['2:x', 'replaced'],
      ['1:c', 'connectionClosed'],
      ['2:y', 'cleared'],
      ['2:x', 'cleared'],
    ]);
    expect(cache.size).toBe(0);
  });

  test('an onEvict that throws does not stop clearConnection, and the error is reported as a warning', () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const seen: string[] = [];
      const cache = new PreparedStatementCache<string>({
        maxSize: 10,
        onEvict: (entry) => {
          seen.push(entry.sql);
          throw new Error(`cannot release ${entry.sql}`);
        },
      });
      put(cache, 1, 'a');
      put(cache, 1, 'b');
      put(cache, 1, 'c');
      put(cache, 2, 'a');
      expect(cache.clearConnection(1)).toBe(3);
      expect(seen).toEqual(['a', 'b', 'c']);
      expect(cache.connectionSize(1)).toBe(0);
      expect(cache.size).toBe(1);
      expect(cache.stats().cleared).toBe(3);
      expect(warn).toHaveBeenCalledTimes(3);
      // reportError may pass a string or an Error to emitWarning; accept either.
      const messages = warn.mock.calls.map(([warning]) => (typeof warning === 'string' ? warning : warning.message));
      expect(messages[0]).toMatch(/onEvict.*cannot release a/);
      expect(messages[2]).toMatch(/onEvict.*cannot release c/);
    } finally {
      warn.mockRestore();
    }
  });

  test('set replaces an entry and hands the old statement to onEvict as replaced', () => {
    const { cache, evicted } = recordingCache();
    cache.set(1, 'a', 'first');
    cache.set(1, 'a', 'second');
    expect(cache.get(1, 'a')).toBe('second');
    expect(cache.size).toBe(1);
    expect(evicted).toEqual([{ connectionId: 1, sql: 'a', statement: 'first', reason: 'replaced' }]);
    expect(cache.stats().evictions).toBe(0);
  });

  test('set with the same statement is not a replacement', () => {
    const { cache, evicted } = recordingCache();
    cache.set(1, 'a', 'same');
    cache.set(1, 'a', 'same');
    expect(cache.size).toBe(1);
    expect(evicted).toEqual([]);
  });

  test('isCached does not change recency', () => {
    const { cache, evicted } = recordingCache({ maxSize: 2 });
    put(cache, 1, 'a');
    put(cache, 1, 'b');
    expect(cache.isCached(1, 'a')).toBe(true); // must not protect 'a'
    put(cache, 1, 'c');
    expect(evicted.map((e) => e.sql)).toEqual(['a']);
    expect(cache.isCached(1, 'missing')).toBe(false);
    expect(cache.isCached(99, 'a')).toBe(false);
  });
});

describe('PreparedStatementCache clearing', () => {
  test('clearConnection returns the number removed, counts cleared, and leaves other connections untouched', () => {
    const { cache, evicted } = recordingCache();
    put(cache, 1, 'a');
    put(cache, 1, 'b');
    put(cache, 2, 'a');
    put(cache, 3, 'c');
    expect(cache.clearConnection(1)).toBe(2);
    expect(cache.stats().cleared).toBe(2);
    expect(cache.connectionSize(1)).toBe(0);
    expect(cache.get(2, 'a')).toBe('2:a');
    expect(cache.get(3, 'c')).toBe('3:c');
    expect(cache.size).toBe(2);
    expect(evicted.every((e) => e.connectionId === 1 && e.reason === 'connectionClosed')).toBe(true);
    expect(cache.stats().evictions).toBe(0);
  });

  test('clearConnection of an unknown connection returns 0', () => {
    const cache = new PreparedStatementCache<string>(10);
    put(cache, 1, 'a');
    expect(cache.clearConnection(42)).toBe(0);
    expect(cache.size).toBe(1);
    expect(cache.stats().cleared).toBe(0);
  });

  test('clear() removes every entry and keeps hit/miss statistics and peakSize', () => {
    const { cache, evicted } = recordingCache();
    put(cache, 1, 'a');
    put(cache, 1, 'a');
    put(cache, 2, 'b');
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.connectionCount()).toBe(0);
    expect(cache.isCached(1, 'a')).toBe(false);
    expect(evicted.map((e) => e.reason)).toEqual(['cleared', 'cleared']);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 2, size: 0, peakSize: 2, connections: 0, cleared: 0 });
  });

  test('an entry cleared by its connection is prepared again on the next lookup', () => {
    const cache = new PreparedStatementCache<string>(10);
    const prepare = jest.fn(() => 'stmt');
    cache.getOrPrepare(1, 'a', prepare);
    cache.clearConnection(1);
    cache.getOrPrepare(1, 'a', prepare);
    expect(prepare).toHaveBeenCalledTimes(2);
  });
});

describe('PreparedStatementCache metadata API (recordMiss, recordHit, isCached)', () => {
  test('recordMiss creates a metadata-only entry (statement undefined) counted in size', () => {
    const { cache, evicted } = recordingCache();
    cache.recordMiss(1, 'SELECT 1', 42);
    expect(cache.isCached(1, 'SELECT 1')).toBe(true);
    expect(cache.get(1, 'SELECT 1')).toBeUndefined();
    expect(cache.size).toBe(1);
    expect(cache.connectionSize(1)).toBe(1);
    expect(cache.stats()).toMatchObject({ misses: 1, size: 1, avgPrepareTimeUs: 42 });
    cache.clearConnection(1);
    expect(evicted).toEqual([{ connectionId: 1, sql: 'SELECT 1', statement: undefined, reason: 'connectionClosed' }]);
  });

  test('recordHit counts only for an existing entry and returns whether it did', () => {
    const cache = new PreparedStatementCache(10);
    expect(cache.recordHit(1, 'SELECT 1')).toBe(false);
    expect(cache.stats().hits).toBe(0);
    cache.recordMiss(1, 'SELECT 1', 5);
    expect(cache.recordHit(1, 'SELECT 1')).toBe(true);
    expect(cache.recordHit(1, 'SELECT 1')).toBe(true);
    expect(cache.recordHit(2, 'SELECT 1')).toBe(false);
    expect(cache.stats()).toMatchObject({ hits: 2, misses: 1 });
    expect(cache.stats().hitRate).toBeCloseTo(2 / 3);
  });

  test('recordHit touches recency', () => {
    const { cache, evicted } = recordingCache({ maxSize: 2 });
    cache.recordMiss(1, 'a', 1);
    cache.recordMiss(1, 'b', 1);
    cache.recordHit(1, 'a');
    cache.recordMiss(1, 'c', 1);
    expect(evicted.map((e) => e.sql)).toEqual(['b']);
  });

  test('peakSize is the most entries ever held and never exceeds maxSize', () => {
    const cache = new PreparedStatementCache<string>(3);
    put(cache, 1, 'a');
    put(cache, 1, 'b');
    put(cache, 2, 'c');
    put(cache, 2, 'd');
    expect(cache.stats().peakSize).toBe(3);
    cache.clearConnection(1);
    cache.clearConnection(2);
    expect(cache.stats()).toMatchObject({ size: 0, peakSize: 3 });
  });

  test('connections, connectionSize and connectionCount follow the entries', () => {
    const cache = new PreparedStatementCache<string>(10);
    expect(cache.connectionCount()).toBe(0);
    put(cache, 1, 'a');
    put(cache, 1, 'b');
    put(cache, 2, 'a');
    expect(cache.connectionCount()).toBe(2);
    expect(cache.stats().connections).toBe(2);
    expect(cache.connectionSize(1)).toBe(2);
    expect(cache.connectionSize(2)).toBe(1);
    expect(cache.connectionSize(3)).toBe(0);
    cache.clearConnection(1);
    expect(cache.connectionCount()).toBe(1);
    expect(cache.stats().connections).toBe(1);
  });

  test('a connection whose last entry is evicted stops counting as a connection', () => {
    const cache = new PreparedStatementCache<string>({ maxSize: 1 });
    put(cache, 1, 'a');
    put(cache, 2, 'a');
    expect(cache.connectionCount()).toBe(1);
    expect(cache.connectionSize(1)).toBe(0);
  });
});

describe('PreparedStatementCache admission (lookup and offer)', () => {
  /** What a pool does per statement: a lookup, else prepare and offer. Returns whether it was a hit. */
  function run(cache: PreparedStatementCache<string>, id: number, sql: string): boolean {
    if (cache.lookup(id, sql) !== undefined) return true;
    cache.offer(id, sql, `${id}:${sql}`, 1);
    return false;
  }

  test("the default policy is 'second-sighting'; an unknown one throws PoolError INVALID_CONFIG", () => {
    expect(new PreparedStatementCache().admission).toBe('second-sighting');
    const make = () => new PreparedStatementCache({ admission: 'sometimes' as never });
    expect(make).toBePoolError('INVALID_CONFIG');
    expect(make).toThrow(/admission/);
  });

  test('a first sighting is refused and counted, the second is kept, the third is a hit', () => {
    const cache = new PreparedStatementCache<string>();
    expect(cache.lookup(1, 'q')).toBeUndefined();
    expect(cache.offer(1, 'q', 'a', 5)).toBe(false);
    expect(cache.isCached(1, 'q')).toBe(false);
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 1, admissionsRefused: 1, size: 0 });
    expect(cache.offer(1, 'q', 'b', 5)).toBe(true);
    expect(cache.lookup(1, 'q')).toBe('b');
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 2, admissionsRefused: 1, size: 1, hitRate: 1 / 3 });
  });

  test('a sighting on one connection counts for the others', () => {
    const cache = new PreparedStatementCache<string>();
    expect(cache.offer(1, 'q', 'a', 1)).toBe(false);
    expect(cache.offer(2, 'q', 'b', 1)).toBe(true);
  });

  test("'always' keeps every miss and evicts the least recently used entry", () => {
    const { cache, evicted } = recordingCache<string>({ maxPerConnection: 1, admission: 'always' });
    expect(cache.offer(1, 'a', 'A', 1)).toBe(true);
    expect(cache.offer(1, 'b', 'B', 1)).toBe(true);
    expect(evicted).toEqual([{ connectionId: 1, sql: 'a', statement: 'A', reason: 'connectionLimit' }]);
    expect(cache.stats().admissionsRefused).toBe(0);
  });

  test('getOrPrepare, set and recordMiss keep caching at a first sighting, whatever the policy', () => {
    const cache = new PreparedStatementCache<string>();
    cache.getOrPrepare(1, 'a', () => 'A');
    cache.set(1, 'b', 'B');
    cache.recordMiss(1, 'c', 1);
    expect(['a', 'b', 'c'].map((sql) => cache.isCached(1, sql))).toEqual([true, true, true]);
    expect(cache.stats().admissionsRefused).toBe(0);
  });

  test('a text cycling with more others than fit keeps the entries that fit, rather than evicting each in turn', () => {
    const texts = ['a', 'b', 'c', 'd'];
    const hitsOf = (admission: 'always' | 'second-sighting') => {
      const cache = new PreparedStatementCache<string>({ maxPerConnection: 2, admission });
      for (let pass = 0; pass < 10; pass++) for (const sql of texts) run(cache, 1, sql);
      return cache.stats();
    };
    expect(hitsOf('always')).toMatchObject({ hits: 0, evictions: 38 });
    const kept = hitsOf('second-sighting');
    // The first two texts seen twice fill the connection; after that each pass hits them.
    expect(kept.hits).toBe(16);
    expect(kept.evictions).toBe(0);
  });

  test('a newcomer seen twice evicts an entry not used since its last sighting, and none used since', () => {
    const cache = new PreparedStatementCache<string>({ maxPerConnection: 2 });
    const cached = () => ['a', 'b', 'c'].map((sql) => cache.isCached(1, sql));
    for (const sql of ['a', 'a', 'b', 'b']) run(cache, 1, sql);
    run(cache, 1, 'c'); // first sighting of c
    run(cache, 1, 'a');
    run(cache, 1, 'b');
    run(cache, 1, 'c'); // a, the victim, was used since c's last sighting: it stays
    expect(cached()).toEqual([true, true, false]);
    run(cache, 1, 'a');
    run(cache, 1, 'c'); // b, the victim now, was not used since: c replaces it
    expect(cached()).toEqual([true, false, true]);
    expect(cache.stats()).toMatchObject({ evictions: 1, admissionsRefused: 4 });
  });

  test('maxSize: 0 refuses every offer', () => {
    const cache = new PreparedStatementCache<string>({ maxSize: 0, admission: 'always' });
    expect(cache.offer(1, 'a', 'A', 1)).toBe(false);
    expect(cache.offer(1, 'a', 'A', 1)).toBe(false);
    expect(cache.stats()).toMatchObject({ size: 0, misses: 2, admissionsRefused: 2 });
  });

  /** Whether `old` is still remembered after `before` texts, then `old`, then `after` others (bound: 64 texts). */
  function remembered(before: number, after: number): boolean {
    const cache = new PreparedStatementCache<string>({ maxSize: 10 });
    for (let i = 0; i < before; i++) run(cache, 1, `p${i}`);
    run(cache, 1, 'old');
    for (let i = 0; i < after; i++) run(cache, 1, `q${i}`);
    return cache.offer(1, 'old', 'OLD', 1);
  }

  test('a text is remembered while no more than 64 other texts have missed after it, wherever it fell', () => {
    const seen = Array.from({ length: 64 }, (_, before) => remembered(before, 64));
    expect(seen.every(Boolean)).toBe(true);
  });

  test('the texts remembered are bounded: after 128 others, one counts as a first sighting again', () => {
    const seen = Array.from({ length: 64 }, (_, before) => remembered(before, 128));
    expect(seen.some(Boolean)).toBe(false);
    // The text that filled the remembered set is the first to go.
    expect(remembered(63, 65)).toBe(false);
  });

  test('a prepare offered without its time is left out of avgPrepareTimeUs, and still counted a miss', () => {
    const cache = new PreparedStatementCache<string>();
    cache.offer(1, 'a', 'A');
    cache.offer(1, 'b', 'B', 30);
    cache.offer(1, 'c', 'C', 10);
    expect(cache.stats()).toMatchObject({ misses: 3, admissionsRefused: 3, avgPrepareTimeUs: 20 });
  });

  test('mayKeep says what offer would decide, and changes nothing', () => {
    const cache = new PreparedStatementCache<string>({ maxPerConnection: 1 });
    expect(cache.mayKeep(1, 'a')).toBe(false);
    expect(cache.mayKeep(1, 'a')).toBe(false);
    expect(cache.stats()).toMatchObject({ misses: 0, admissionsRefused: 0 });
    expect(cache.offer(1, 'a', 'A')).toBe(false);
    expect(cache.mayKeep(1, 'a')).toBe(true);
    expect(cache.offer(1, 'a', 'A')).toBe(true);
    run(cache, 1, 'b');
    run(cache, 1, 'a'); // a, the victim b would evict, is used after b's sighting
    expect(cache.mayKeep(1, 'b')).toBe(false);
    expect(cache.offer(1, 'b', 'B')).toBe(false);
    expect(new PreparedStatementCache<string>({ admission: 'always' }).mayKeep(1, 'a')).toBe(true);
    expect(new PreparedStatementCache<string>({ maxSize: 0, admission: 'always' }).mayKeep(1, 'a')).toBe(false);
  });
});

describe('PreparedStatementCache properties', () => {
  type Op = { kind: 'get'; id: number; sql: number } | { kind: 'clear'; id: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('get' as const), id: fc.integer({ min: 1, max: 4 }), sql: fc.integer({ min: 0, max: 6 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const), id: fc.integer({ min: 1, max: 4 }) }) },
  );

  test('random getOrPrepare/clearConnection sequences respect both bounds and keep size consistent', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 0, max: 4 }),
        fc.array(op, { maxLength: 80 }),
        (maxSize, maxPerConnection, ops) => {
          const cache = new PreparedStatementCache<string>({ maxSize, maxPerConnection });
          const ids = [1, 2, 3, 4];
          for (const o of ops) {
            if (o.kind === 'get') {
              const sql = `q${o.sql}`;
              const stmt = cache.getOrPrepare(o.id, sql, () => `${o.id}:${sql}`);
              if (stmt !== `${o.id}:${sql}`) return false;
            } else {
              const before = cache.connectionSize(o.id);
              if (cache.clearConnection(o.id) !== before) return false;
            }
            const sum = ids.reduce((total, id) => total + cache.connectionSize(id), 0);
            if (cache.size > maxSize) return false;
            if (ids.some((id) => cache.connectionSize(id) > maxPerConnection)) return false;
            if (cache.size !== sum) return false;
            if (cache.stats().peakSize > maxSize) return false;
            if (cache.connectionCount() !== ids.filter((id) => cache.connectionSize(id) > 0).length) return false;
          }
          return true;
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('PreparedStatementCache mayKeep', () => {
  test('mayKeep calls anywhere in a sequence change no decision, nor the stats', () => {
    // `peek`: mayKeep alone; `peekRun`: mayKeep, then the run it asked about.
    type Step = { kind: 'run' | 'peekRun' | 'peek' | 'delete'; id: number; sql: number };
    const step: fc.Arbitrary<Step> = fc.record({
      kind: fc.constantFrom('run' as const, 'run' as const, 'peekRun' as const, 'peekRun' as const, 'peek' as const, 'delete' as const),
      id: fc.integer({ min: 1, max: 3 }),
      // Mostly a few texts, which come back; sometimes one of many, which fill the remembered set.
      sql: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 8 }) }, { weight: 1, arbitrary: fc.integer({ min: 9, max: 200 }) }),
    });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 3 }), fc.array(step, { maxLength: 300 }), (maxSize, maxPerConnection, steps) => {
        // Only `peeking` is asked, `plain` never.
        const peeking = new PreparedStatementCache<string>({ maxSize, maxPerConnection });
        const plain = new PreparedStatementCache<string>({ maxSize, maxPerConnection });
        for (const { kind, id, sql } of steps) {
          const text = `q${sql}`;
          if (kind === 'peek') {
            peeking.mayKeep(id, text);
          } else if (kind === 'delete') {
            peeking.delete(id, text);
            plain.delete(id, text);
          } else {
            const hit = peeking.lookup(id, text) !== undefined;
            if (hit !== (plain.lookup(id, text) !== undefined)) return false;
            if (hit) continue;
            if (kind === 'peekRun') peeking.mayKeep(id, text);
            if (peeking.offer(id, text, text) !== plain.offer(id, text, text)) return false;
          }
        }
        expect(peeking.stats()).toEqual(plain.stats());
        return true;
      }),
      { numRuns: 500 },
    );
  });

  test('on random lookup/offer/delete sequences, mayKeep always foretells what offer decides', () => {
    type Step = { kind: 'run' | 'delete'; id: number; sql: number };
    const step: fc.Arbitrary<Step> = fc.record({
      kind: fc.oneof({ weight: 6, arbitrary: fc.constant('run' as const) }, { weight: 1, arbitrary: fc.constant('delete' as const) }),
      id: fc.integer({ min: 1, max: 3 }),
      sql: fc.integer({ min: 0, max: 150 }),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 0, max: 3 }),
        fc.constantFrom('always' as const, 'second-sighting' as const),
        fc.array(step, { maxLength: 300 }),
        (maxSize, maxPerConnection, admission, steps) => {
          const cache = new PreparedStatementCache<string>({ maxSize, maxPerConnection, admission });
          for (const { kind, id, sql } of steps) {
            const text = `q${sql}`;
            if (kind === 'delete') cache.delete(id, text);
            else if (cache.lookup(id, text) === undefined && cache.mayKeep(id, text) !== cache.offer(id, text, text)) return false;
          }
          return true;
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('StatementCacheSubscriber', () => {
  // StatementCacheSubscriber takes a PreparedStatementCache<unknown>; a
  // PreparedStatementCache<string> is not assignable to it (the class is invariant).
  function filled(): PreparedStatementCache<unknown> {
    const cache = new PreparedStatementCache(10);
    for (const [id, sql] of [[1, 'a'], [1, 'b'], [2, 'a']] as const) cache.getOrPrepare(id, sql, () => `${id}:${sql}`);
    return cache;
  }

  test('attach: a close event clears that connection from the cache', () => {
    const pool = new EventEmitter<PoolEvents>();
    const cache = filled();
    const subscriber = new StatementCacheSubscriber(cache).attach(pool);
    expect(subscriber.attached).toBe(true);
    pool.emit('close', closeEvent(1, 'idle'));
    expect(cache.connectionSize(1)).toBe(0);
    expect(cache.connectionSize(2)).toBe(1);
    expect(cache.stats().cleared).toBe(2);
  });

  test('attach returns the subscriber and listens to close only', () => {
    const pool = new EventEmitter<PoolEvents>();
    const subscriber = new StatementCacheSubscriber(filled());
    expect(subscriber.attach(pool)).toBe(subscriber);
    expect(pool.eventNames()).toEqual(['close']);
    expect(pool.listenerCount('close')).toBe(1);
  });

  test('detach stops clearing', () => {
    const pool = new EventEmitter<PoolEvents>();
    const cache = filled();
    const subscriber = new StatementCacheSubscriber(cache).attach(pool);
    subscriber.detach();
    expect(subscriber.attached).toBe(false);
    expect(pool.listenerCount('close')).toBe(0);
    pool.emit('close', closeEvent(1));
    expect(cache.connectionSize(1)).toBe(2);
    subscriber.detach(); // safe when not attached
    expect(subscriber.attached).toBe(false);
  });

  test('two subscribers with two caches on one emitter both clear', () => {
    const pool = new EventEmitter<PoolEvents>();
    const first = filled();
    const second = filled();
    new StatementCacheSubscriber(first).attach(pool);
    new StatementCacheSubscriber(second).attach(pool);
    expect(pool.listenerCount('close')).toBe(2);
    pool.emit('close', closeEvent(1, 'maxUses'));
    expect(first.connectionSize(1)).toBe(0);
    expect(second.connectionSize(1)).toBe(0);
    expect(first.connectionSize(2)).toBe(1);
    expect(second.connectionSize(2)).toBe(1);
  });

  test('attaching to a second emitter detaches from the first', () => {
    const one = new EventEmitter<PoolEvents>();
    const two = new EventEmitter<PoolEvents>();
    const cache = filled();
    const subscriber = new StatementCacheSubscriber(cache).attach(one).attach(two);
    expect(one.listenerCount('close')).toBe(0);
    expect(two.listenerCount('close')).toBe(1);
    one.emit('close', closeEvent(1));
    expect(cache.connectionSize(1)).toBe(2);
    two.emit('close', closeEvent(1));
    expect(cache.connectionSize(1)).toBe(0);
    expect(subscriber.attached).toBe(true);
  });

  test('attaching twice to the same emitter does not double-subscribe', () => {
    const pool = new EventEmitter<PoolEvents>();
    const subscriber = new StatementCacheSubscriber(filled());
    subscriber.attach(pool).attach(pool);
    expect(pool.listenerCount('close')).toBe(1);
  });
});
