import type { IntMode } from '@libsql/client';
import { expandConfig, isInMemoryConfig } from '@libsql/core/config';
import { encodeBaseUrl } from '@libsql/core/uri';
import { PoolError, describeValue } from './errors';
import type { DriverStatement } from './drivers/driver';
import { PreparedStatementCache, type CacheEntry } from './statement-cache';
import type { AfterConnectHook, AfterReleaseHook } from './session';

/** Options of `createPool`. Every field but `url` is optional. */
export interface PoolConfig {
  /**
   * Database URL, as for `@libsql/client`: `file:path.db`, `file:///abs/path.db`
   * or `:memory:` for a local database; `ws:`, `wss:`, `http:`, `https:` or
   * `libsql:` (WebSocket; `?tls=0` for plain `ws:`) for a libSQL server.
   */
  url: string;
  /** Passed to the driver as `@libsql/client` would. */
  authToken?: string;
  /** Encryption key of a `file:` database, as `@libsql/client`'s `encryptionKey`. */
  encryptionKey?: string;
  /**
   * Makes a `file:` database an embedded replica of this server (`http:`,
   * `https:` or `libsql:`), as `@libsql/client`'s `syncUrl`: reads are local,
   * `pool.sync()` pulls changes. A replica is one connection, like `:memory:`.
   */
  syncUrl?: string;
  /** Sync the replica in the background every this many seconds, as the client's `syncInterval`. */
  syncInterval?: number;
  /** How integers come back, as `@libsql/client`'s `intMode`. @default 'number' */
  intMode?: IntMode;
  /** Connections kept open even when idle. `createPool` opens them (at least one). @default 1 */
  min?: number;
  /** Most connections open at once. `:memory:` databases are always 1. @default 10 */
  max?: number;
  /** How long `acquire()` waits before `ACQUIRE_TIMEOUT`; `Infinity` waits for ever. @default 30000 */
  acquireTimeoutMs?: number;
  /** Most callers queued in `acquire()` before `POOL_EXHAUSTED`. @default Infinity */
  maxWaiters?: number;
  /**
   * A connection unused this long closes, while more than `min` are open
   * (reuse is LIFO, so a light load keeps the same few). The only time
   * constant of sizing; `Infinity` never closes them. @default 30000
   */
  idleTimeoutMs?: number;
  /** A connection closes after this many checkouts; `1` opens one per checkout. @default Infinity */
  maxUses?: number;
  /** How long `close()` waits for leases before closing their connections. @default 10000 */
  closeTimeoutMs?: number;
  /** SQLite busy timeout on file databases: how long a writer waits for a lock. @default 5000 */
  busyTimeoutMs?: number;
  /** Put file databases in WAL mode, so readers run beside a writer. @default true */
  wal?: boolean;
  /**
   * Respond to back-pressure (SQLITE_BUSY after `busyTimeoutMs`, HTTP
   * 429/503): halve the effective maximum once per episode, double it back
   * after each quiet interval (see README, "Adaptive sizing"). `false` ignores
   * back-pressure; growth and shrinking follow the same rule either way.
   * Kept for compatibility. @default true
   */
  adaptive?: boolean;
  /**
   * Retire a connection this long after it opened, replacing it first
   * (make-before-break). Each connection's lifetime is shortened by a random
   * part of `lifetimeJitter`, fixed at birth, so they do not all expire at once.
   * @default Infinity for local files, 1800000 (30 min) for a server
   */
  maxLifetimeMs?: number;
  /** The largest fraction a lifetime is shortened by, at random. @default 0.1 */
  lifetimeJitter?: number;
  /**
   * Ping a connection that sat idle longer than this before lending it; one
   * that fails is closed (`unhealthy`) and the caller gets another.
   * @default Infinity for local files, 30000 for a server
   */
  validateAfterIdleMs?: number;
  /** How long that ping may take. @default 5000 */
  validateTimeoutMs?: number;
  /** Report a lease held longer than this (`leak` event), with where it was acquired. @default Infinity (off) */
  leakDetectionMs?: number;
  /** Statements the pool prepares on every new connection: its most used ones, up to this many. @default 16 */
  warmStatements?: number;
  /** First delay before retrying a failed connect; it doubles per failure, with jitter. @default 100 */
  connectRetryMs?: number;
  /** Longest delay between connect retries. @default 10000 */
  connectRetryMaxMs?: number;
  /** Consecutive connect failures that open the circuit breaker. @default 5 */
  breakerThreshold?: number;
  /**
   * How long one connect may take before it fails (`CONNECT_FAILED`, with a
   * `TimeoutError` as `cause`) and what it half opened is closed; the pool
   * then retries with backoff. It guards against a server that accepts the
   * socket and never answers, which would otherwise hold the connect, and
   * `createPool`, for ever. 10 s, as PgJDBC's `connectTimeout` (the limit a
   * HikariCP pool relies on under its 30 s `connectionTimeout`): well over a
   * TLS handshake to a distant region or a database waking up, and short
   * enough that a caller waiting `acquireTimeoutMs` sees a retry. Finite by
   * default, unlike pgx's unset `connect_timeout`; `Infinity` waits for ever.
   * A local file opens synchronously, so in practice it applies to a server.
   * @default 10000
   */
  connectTimeoutMs?: number;
  /**
   * The pool's statement cache: bounds for its own, `false` for none, or a
   * `PreparedStatementCache` to share between pools.
   * @default { maxSize: 1000, maxPerConnection: 100 }
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  statementCache?: false | { maxSize?: number; maxPerConnection?: number } | PreparedStatementCache<any>;
  /**
   * Sets up each new connection before it is lent (pgxpool `AfterConnect`,
   * HikariCP `connectionInitSql`): pragmas, ATTACH, TEMP objects. The state it
   * leaves is what the pool restores at checkin (see README, "Sessions"). If it
   * throws, the connect fails (`CONNECT_FAILED`, with the error as `cause`) and
   * the connection is closed.
   */
  afterConnect?: AfterConnectHook;
  /**
   * Decides at each checkin whether the connection may be lent again (pgxpool
   * `AfterRelease`, tarn `validate`). Runs after any open transaction was rolled
   * back and before session state is restored. `true` keeps it; anything else
   * closes it (`close` reason `unhealthy`); a throw closes it with reason `error`.
   */
  afterRelease?: AfterReleaseHook;
}

/** `PoolConfig` with every default applied, validated and frozen. */
export interface ResolvedConfig {
  readonly url: string;
  /** `file` for a local database, `ws` or `http` for a server. */
  readonly protocol: 'file' | 'ws' | 'http';
  /** The server's base URL (remote databases only). */
  readonly serverUrl: string | undefined;
  /** What the local driver opens (a path, or `file::memory:`); empty for a server. */
  readonly path: string;
  readonly memory: boolean;
  readonly authToken: string | undefined;
  readonly encryptionKey: string | undefined;
  readonly syncUrl: string | undefined;
  readonly syncInterval: number | undefined;
  readonly intMode: IntMode;
  readonly min: number;
  readonly max: number;
  readonly acquireTimeoutMs: number;
  readonly maxWaiters: number;
  readonly idleTimeoutMs: number;
  readonly maxUses: number;
  readonly closeTimeoutMs: number;
  readonly busyTimeoutMs: number;
  readonly wal: boolean;
  readonly adaptive: boolean;
  readonly maxLifetimeMs: number;
  readonly lifetimeJitter: number;
  readonly validateAfterIdleMs: number;
  readonly validateTimeoutMs: number;
  readonly leakDetectionMs: number;
  readonly warmStatements: number;
  readonly connectRetryMs: number;
  readonly connectRetryMaxMs: number;
  readonly breakerThreshold: number;
  readonly connectTimeoutMs: number;
  readonly statementCache: false | PreparedStatementCache<unknown>;
  readonly afterConnect: AfterConnectHook | undefined;
  readonly afterRelease: AfterReleaseHook | undefined;
}

export const DEFAULTS = Object.freeze({
  intMode: 'number' as IntMode,
  min: 1,
  max: 10,
  acquireTimeoutMs: 30_000,
  maxWaiters: Number.POSITIVE_INFINITY,
  idleTimeoutMs: 30_000,
  maxUses: Number.POSITIVE_INFINITY,
  closeTimeoutMs: 10_000,
  busyTimeoutMs: 5_000,
  wal: true,
  adaptive: true,
  lifetimeJitter: 0.1,
  validateTimeoutMs: 5_000,
  leakDetectionMs: Number.POSITIVE_INFINITY,
  warmStatements: 16,
  connectRetryMs: 100,
  connectRetryMaxMs: 10_000,
  breakerThreshold: 5,
  connectTimeoutMs: 10_000,
});

/** Defaults that differ for a server: its connections can go stale, a file's cannot. */
export const REMOTE_DEFAULTS = Object.freeze({
  maxLifetimeMs: 1_800_000,
  validateAfterIdleMs: 30_000,
});

const KEYS = new Set<string>([
  'url', 'authToken', 'encryptionKey', 'syncUrl', 'syncInterval', 'intMode', 'min', 'max', 'acquireTimeoutMs', 'maxWaiters',
  'idleTimeoutMs', 'maxUses', 'closeTimeoutMs', 'busyTimeoutMs', 'wal', 'statementCache', 'afterConnect', 'afterRelease', 'adaptive',
  'maxLifetimeMs', 'lifetimeJitter', 'validateAfterIdleMs', 'validateTimeoutMs', 'leakDetectionMs',
  'warmStatements', 'connectRetryMs', 'connectRetryMaxMs', 'breakerThreshold', 'connectTimeoutMs',
]);

/** Validates `config` and fills in every default. Throws `PoolError` `INVALID_CONFIG` naming the field. */
export function resolveConfig(config: PoolConfig): ResolvedConfig {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw invalid('config', 'an object like { url: "file:app.db" }', config);
  }
  for (const key of Object.keys(config)) {
    if (!KEYS.has(key)) throw new PoolError('INVALID_CONFIG', `Unknown pool config field \`${key}\``);
  }
  const url = config.url;
  if (typeof url !== 'string' || url === '') throw invalid('url', 'a non-empty string', url);
  optionalString(config, 'authToken');
  optionalString(config, 'encryptionKey');
  optionalString(config, 'syncUrl');
  const syncInterval = config.syncInterval;
  if (syncInterval !== undefined && (typeof syncInterval !== 'number' || !(syncInterval > 0) || !Number.isFinite(syncInterval))) {
    throw invalid('syncInterval', 'a number of seconds > 0', syncInterval);
  }
  const intMode = config.intMode ?? DEFAULTS.intMode;
  if (intMode !== 'number' && intMode !== 'bigint' && intMode !== 'string') {
    throw invalid('intMode', '"number", "bigint" or "string"', intMode);
  }
  const target = parseUrl(url, config.authToken, intMode, config.encryptionKey !== undefined);
  if (config.syncUrl !== undefined && (target.protocol !== 'file' || target.memory)) {
    throw new PoolError('INVALID_CONFIG', '`syncUrl` makes a local file an embedded replica; `url` must be a "file:" path');
  }
  if (syncInterval !== undefined && config.syncUrl === undefined) {
    throw new PoolError('INVALID_CONFIG', '`syncInterval` needs `syncUrl`');
  }
  // An in-memory database lives on the one connection that opened it, and each
  // connection to a replica carries its own sync state: both are one connection.
  const single = target.memory || config.syncUrl !== undefined;

  const min = integer(config, 'min', DEFAULTS.min, 0);
  const max = integer(config, 'max', DEFAULTS.max, 1);
  if (min > max && !single) {
    throw new PoolError('INVALID_CONFIG', `Expected \`min\` (${min}) to be at most \`max\` (${max})`);
  }
  const maxUses = integer(config, 'maxUses', DEFAULTS.maxUses, 1, true);
  if (target.memory && Number.isFinite(maxUses)) {
    throw new PoolError(
      'INVALID_CONFIG',
      '`maxUses` cannot be set for an in-memory database: retiring its only connection would erase the database',
    );
  }
  const wal = config.wal === undefined ? DEFAULTS.wal : config.wal;
  if (typeof wal !== 'boolean') throw invalid('wal', 'a boolean', wal);
  const adaptive = config.adaptive === undefined ? DEFAULTS.adaptive : config.adaptive;
  if (typeof adaptive !== 'boolean') throw invalid('adaptive', 'a boolean', adaptive);
  const remote = target.protocol !== 'file';
  const lifetimeJitter = config.lifetimeJitter === undefined ? DEFAULTS.lifetimeJitter : config.lifetimeJitter;
  if (typeof lifetimeJitter !== 'number' || !(lifetimeJitter >= 0 && lifetimeJitter < 1)) {
    throw invalid('lifetimeJitter', 'a fraction >= 0 and < 1', lifetimeJitter);
  }
  const connectRetryMs = duration(config, 'connectRetryMs', DEFAULTS.connectRetryMs);
  const connectRetryMaxMs = duration(config, 'connectRetryMaxMs', DEFAULTS.connectRetryMaxMs);
  if (connectRetryMaxMs < connectRetryMs) {
    throw new PoolError('INVALID_CONFIG', `Expected \`connectRetryMaxMs\` to be at least \`connectRetryMs\` (${connectRetryMs})`);
  }

  return Object.freeze({
    url,
    protocol: target.protocol,
    serverUrl: target.serverUrl,
    path: target.path,
    memory: target.memory,
    authToken: target.authToken,
    encryptionKey: config.encryptionKey,
    syncUrl: config.syncUrl,
    syncInterval,
    intMode,
    min: single ? 1 : min,
    max: single ? 1 : max,
    acquireTimeoutMs: duration(config, 'acquireTimeoutMs', DEFAULTS.acquireTimeoutMs),
    maxWaiters: integer(config, 'maxWaiters', DEFAULTS.maxWaiters, 0, true),
    idleTimeoutMs: duration(config, 'idleTimeoutMs', DEFAULTS.idleTimeoutMs),
    maxUses,
    closeTimeoutMs: duration(config, 'closeTimeoutMs', DEFAULTS.closeTimeoutMs, 0),
    busyTimeoutMs: integer(config, 'busyTimeoutMs', DEFAULTS.busyTimeoutMs, 0),
    wal,
    adaptive,
    maxLifetimeMs: duration(config, 'maxLifetimeMs', remote ? REMOTE_DEFAULTS.maxLifetimeMs : Number.POSITIVE_INFINITY),
    lifetimeJitter,
    validateAfterIdleMs: duration(
      config,
      'validateAfterIdleMs',
      remote ? REMOTE_DEFAULTS.validateAfterIdleMs : Number.POSITIVE_INFINITY,
      0,
    ),
    validateTimeoutMs: duration(config, 'validateTimeoutMs', DEFAULTS.validateTimeoutMs),
    leakDetectionMs: duration(config, 'leakDetectionMs', DEFAULTS.leakDetectionMs),
    warmStatements: integer(config, 'warmStatements', DEFAULTS.warmStatements, 0),
    connectRetryMs,
    connectRetryMaxMs,
    breakerThreshold: integer(config, 'breakerThreshold', DEFAULTS.breakerThreshold, 1),
    connectTimeoutMs: duration(config, 'connectTimeoutMs', DEFAULTS.connectTimeoutMs),
    statementCache: resolveCache(config.statementCache),
    afterConnect: optionalFunction(config, 'afterConnect'),
    afterRelease: optionalFunction(config, 'afterRelease'),
  });
}

interface Target {
  protocol: 'file' | 'ws' | 'http';
  serverUrl: string | undefined;
  path: string;
  memory: boolean;
  authToken: string | undefined;
}

/** Reads `url` as `@libsql/client` does, with the same checks, so a URL means the same database. */
function parseUrl(url: string, authToken: string | undefined, intMode: IntMode, encrypted: boolean): Target {
  const fail = (why: string, cause?: unknown) =>
    new PoolError('INVALID_CONFIG', `Invalid \`url\` ${JSON.stringify(url)}: ${why}`, { cause });
  let expanded: ReturnType<typeof expandConfig>;
  try {
    // `libsql:` means WebSocket here (the client's default for Node is HTTP):
    // a pooled connection is a long-lived stream, which a socket serves best.
    expanded = expandConfig({ url, authToken, intMode }, false);
  } catch (error) {
    throw fail((error as Error).message, error);
  }
  const { scheme, authority } = expanded;
  if (scheme !== 'file') {
    if (encrypted) throw fail('`encryptionKey` is for local files; a server encrypts its own storage');
    if ((scheme === 'ws' || scheme === 'http') && expanded.tls) throw fail(`a "${scheme}:" URL cannot use TLS`);
    if ((scheme === 'wss' || scheme === 'https') && !expanded.tls) throw fail(`a "${scheme}:" URL always uses TLS`);
    if (authority === undefined || authority.host === '') throw fail('a server URL needs a host');
    return {
      protocol: scheme === 'ws' || scheme === 'wss' ? 'ws' : 'http',
      serverUrl: encodeBaseUrl(scheme, authority, expanded.path).toString(),
      path: '',
      memory: false,
      authToken: expanded.authToken,
    };
  }
  if (authority !== undefined) {
    const host = authority.host.toLowerCase();
    if ((host !== '' && host !== 'localhost') || authority.port !== undefined || authority.userinfo !== undefined) {
      throw fail(
        'a "file:" URL has no host, port or credentials; write an absolute path as "file:/abs/path.db" or "file:///abs/path.db"',
      );
    }
  }
  const memory = isInMemoryConfig(expanded);
  if (!memory && expanded.path === '') {
    // SQLite would open a private temporary database per connection: each
    // caller would see a different, empty database.
    throw fail('the file path is empty');
  }
  return {
    protocol: 'file',
    serverUrl: undefined,
    path: memory ? `file:${expanded.path}` : expanded.path,
    memory,
    authToken: expanded.authToken,
  };
}

function resolveCache(value: PoolConfig['statementCache']): false | PreparedStatementCache<unknown> {
  if (value === false) return false;
  if (value instanceof PreparedStatementCache) return value;
  if (value === undefined) return new PreparedStatementCache({ onEvict: disposeStatement });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('statementCache', 'false, { maxSize, maxPerConnection } or a PreparedStatementCache', value);
  }
  for (const key of Object.keys(value)) {
    if (key !== 'maxSize' && key !== 'maxPerConnection') {
      throw new PoolError('INVALID_CONFIG', `Unknown \`statementCache\` field \`${key}\``);
    }
  }
  try {
    return new PreparedStatementCache({ ...value, onEvict: disposeStatement });
  } catch (error) {
    throw new PoolError('INVALID_CONFIG', (error as Error).message.replace('statement cache `', '`statementCache.'), {
      cause: error,
    });
  }
}

/** The pool's own cache releases what an evicted statement holds (e.g. server-side SQL). */
function disposeStatement(entry: CacheEntry<unknown>): void {
  (entry.statement as DriverStatement | undefined)?.dispose?.();
}

type NumberKey = {
  [K in keyof PoolConfig]-?: NonNullable<PoolConfig[K]> extends number ? K : never;
}[keyof PoolConfig];

function integer(config: PoolConfig, key: NumberKey, fallback: number, least: number, unbounded = false): number {
  const value = config[key] === undefined ? fallback : config[key];
  const ok = typeof value === 'number' && (Number.isInteger(value) || (unbounded && value === Infinity));
  if (!ok || value < least) {
    throw invalid(key, `an integer >= ${least}${unbounded ? ', or Infinity' : ''}`, value);
  }
  return value;
}

function duration(config: PoolConfig, key: NumberKey, fallback: number, least = 1): number {
  const value = config[key] === undefined ? fallback : config[key];
  if (typeof value !== 'number' || Number.isNaN(value) || value < least) {
    throw invalid(key, `a number of milliseconds >= ${least}, or Infinity`, value);
  }
  return timerDelay(value);
}

/** Longest delay `setTimeout` honours; longer ones fire after 1 ms instead. */
const MAX_TIMER_MS = 2_147_483_647;

/** A delay as the pool's timers take it: anything past ~24.8 days means never. */
export function timerDelay(ms: number): number {
  return ms > MAX_TIMER_MS ? Number.POSITIVE_INFINITY : ms;
}

function optionalFunction<K extends 'afterConnect' | 'afterRelease'>(config: PoolConfig, key: K): PoolConfig[K] {
  const value = config[key];
  if (value !== undefined && typeof value !== 'function') throw invalid(key, 'a function', value);
  return value;
}

function optionalString(config: PoolConfig, key: 'authToken' | 'encryptionKey' | 'syncUrl'): void {
  const value = config[key];
  if (value !== undefined && typeof value !== 'string') throw invalid(key, 'a string', value);
}

function invalid(field: string, expected: string, value: unknown): PoolError {
  return new PoolError('INVALID_CONFIG', `Expected \`${field}\` to be ${expected}, got ${describeValue(value)}`);
}
