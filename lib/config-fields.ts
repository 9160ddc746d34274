import type { IntMode } from '@libsql/client';
import { DRIVER_DEFAULTS } from './drivers/create-driver';
import { ROW_MODES, type RowMode } from './drivers/row-mode';
import type { AfterConnectHook, AfterReleaseHook } from './session';
import {
  DEFAULT_ADMISSION,
  DEFAULT_CACHE_PER_CONNECTION,
  DEFAULT_CACHE_SIZE,
  type AdmissionPolicy,
  type PreparedStatementCache,
} from './statement-cache';

/** Options of `createPool`. Every field but `url` is optional. */
export interface PoolConfig {
  /**
   * Database URL, as for `@libsql/client`: `file:path.db`, `file:///abs/path.db`
   * or `:memory:` for a local database; `ws:`, `wss:`, `http:`, `https:` or
   * `libsql:` for a libSQL server. A `libsql:` URL is WebSocket in `createPool`
   * (a long-lived stream per connection, which a socket serves without HTTP's
   * idle expiry) and HTTP in `createPooledClient`, as in the client on Node;
   * `?tls=0` or `tls: false` makes it plain `ws:`/`http:`.
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
  /**
   * How rows come back: `'client'`, the row objects of `@libsql/client`
   * (indexed and named); `'array'`, plain arrays of the column values, in
   * the order of `columns`, with `intMode` applied (a local file then builds
   * no row object at all); `'object'`, plain objects keyed by column name,
   * as pg and better-sqlite3 return (where a name repeats, the first
   * column's value, as in the client's rows). One call can ask for another
   * mode with `execute({ sql, args, rowMode })`. `createPooledClient`
   * refuses all but `'client'`: a `Client`'s rows are the client's.
   * @default 'client'
   */
  rowMode?: RowMode;
  /**
   * The client's `remoteEncryptionKey`: the key of a database the server
   * stores encrypted, sent with every HTTP request, and given to `libsql`
   * for an embedded replica. Over WebSocket it is ignored, as by the client.
   */
  remoteEncryptionKey?: string;
  /** Embedded replicas: the client's `readYourWrites`, passed to `libsql`. @default true */
  readYourWrites?: boolean;
  /** Embedded replicas: the client's `offline` (writes stay local until synced), passed to `libsql`. @default false */
  offline?: boolean;
  /**
   * Whether a `libsql:` URL uses TLS, as the client's `tls`: `false` means
   * plain `ws:`/`http:` (the URL then needs a port). With a `ws:`, `http:`,
   * `wss:` or `https:` URL it must agree with the scheme. `?tls=` in the URL wins.
   * @default true for `libsql:`
   */
  tls?: boolean;
  /**
   * The client's `fetch`: every HTTP request of the pool (`http:`, `https:`,
   * and `libsql:` in `createPooledClient`) goes through it, called with a
   * `Request`, as by the client. WebSocket and local files do not use it.
   */
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- the client's own type for `fetch`.
  fetch?: Function;
  /**
   * The client's limit on calls running at once, which for a pool is `max`:
   * when `max` is not given, a `concurrency` above 0 is it (rounded up).
   * Without either, `max` keeps the pool's default of 10 rather than the
   * client's 20 (see docs/sizing.md); calls beyond it wait, as in the client.
   */
  concurrency?: number | undefined;
  /**
   * The client's `timeout`: the busy timeout of a local file, in
   * milliseconds, another name for `busyTimeoutMs` (give one, or both equal).
   */
  timeout?: number;
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
  /** How long `close()` waits for leases before closing their connections, and for each async cleanup of a closed connection. @default 10000 */
  closeTimeoutMs?: number;
  /**
   * SQLite busy timeout on file databases: how long a statement waits for a
   * lock held elsewhere before `SQLITE_BUSY`. The pool waits off the event
   * loop, retrying, so `PRAGMA busy_timeout` on a pooled connection reads 0.
   *
   * `createPooledClient` defaults to 0, the client's default (`libsql` opens
   * files with no busy timeout, so the client fails at once on a lock held
   * elsewhere): a drop-in must not start waiting where the client failed, and
   * code written for the client handles `SQLITE_BUSY` itself. Pass `timeout`
   * (the client's name) or `busyTimeoutMs` to wait. `createPool` waits 5 s, as
   * a pool shared by many callers should.
   * @default 5000 (`createPool`), 0 (`createPooledClient`)
   */
  busyTimeoutMs?: number;
  /** Put file databases in WAL mode, so readers run beside a writer. @default true */
  wal?: boolean;
  /**
   * Respond to back-pressure (SQLITE_BUSY after `busyTimeoutMs`, HTTP
   * 429/503): halve the effective maximum once per episode, double it back
   * after each quiet interval (see docs/sizing.md). `false` ignores
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
   * The pool's statement cache: bounds and admission policy for its own,
   * `false` for none, or a `PreparedStatementCache` to share between pools.
   * With `admission: 'second-sighting'` a SQL text is cached from its second
   * run, so ad-hoc SQL run once costs what it costs in `@libsql/client`;
   * `'always'` caches every statement at its first run.
   * @default { maxSize: 1000, maxPerConnection: 100, admission: 'second-sighting' }
   */
  statementCache?: false | { maxSize?: number; maxPerConnection?: number; admission?: AdmissionPolicy } | PreparedStatementCache<any>;
  /**
   * Sets up each new connection before it is lent (pgxpool `AfterConnect`,
   * HikariCP `connectionInitSql`): pragmas, ATTACH, TEMP objects. The state it
   * leaves is what the pool restores at checkin (see docs/sessions.md). If it
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

/** The kinds of field, each with its own check (see `resolveConfig`). */
export type Field =
  | { readonly kind: 'url'; readonly doc: string }
  | { readonly kind: 'string'; readonly doc: string }
  | { readonly kind: 'function'; readonly doc: string }
  /** A number of seconds > 0, with no default. */
  | { readonly kind: 'seconds'; readonly doc: string }
  | { readonly kind: 'choice'; readonly values: readonly string[]; readonly default: string; readonly doc: string }
  /** A boolean; without `default`, an unset one means what the client makes of it. */
  | { readonly kind: 'boolean'; readonly default?: boolean; readonly doc: string }
  /** A finite number `>= least`, with no default: `resolveConfig` says what it means. */
  | { readonly kind: 'number'; readonly least: number; readonly doc: string }
  /** A count: an integer `>= least`, or `Infinity` where `unbounded`. */
  | IntegerField
  /** Milliseconds `>= least` (1 unless given), or `Infinity`. */
  | DurationField
  /** A number `>= 0` and `< 1`. */
  | { readonly kind: 'fraction'; readonly default: number; readonly doc: string }
  | { readonly kind: 'statementCache'; readonly default: StatementCacheBounds; readonly doc: string };

interface IntegerField {
  readonly kind: 'integer';
  readonly default: number;
  /** The default in `createPooledClient`, where it follows the client's. */
  readonly clientDefault?: number;
  readonly least: number;
  readonly unbounded?: true;
  readonly doc: string;
}

interface DurationField {
  readonly kind: 'duration';
  readonly default: number;
  /** The default for a server, where it differs: its connections can go stale, a file's cannot. */
  readonly serverDefault?: number;
  readonly least?: number;
  readonly doc: string;
}

/** The bounds and admission policy of a statement cache the pool makes for itself. */
export interface StatementCacheBounds {
  readonly maxSize: number;
  readonly maxPerConnection: number;
  readonly admission: AdmissionPolicy;
}

/** The kinds a field of type `T` may have: a number is never checked as a string. */
type FieldFor<T> = [T] extends [number]
  ? Extract<Field, { kind: 'seconds' | 'integer' | 'duration' | 'fraction' | 'number' }>
  : [T] extends [boolean]
    ? Extract<Field, { kind: 'boolean' }>
    : [T] extends [IntMode | RowMode]
      ? Extract<Field, { kind: 'choice' }>
      : [T] extends [string]
        ? Extract<Field, { kind: 'url' | 'string' }>
        : // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- `fetch` is typed `Function` by the client.
          [T] extends [Function]
          ? Extract<Field, { kind: 'function' }>
          : Extract<Field, { kind: 'statementCache' }>;

const INFINITY = Number.POSITIVE_INFINITY;

/**
 * Every field of `PoolConfig`, in its order: its kind, default and bounds,
 * and the line the README's table shows. `resolveConfig` checks each field and
 * fills in its default from here; the rules that tie fields together are
 * written out there.
 */
export const FIELDS = {
  url: {
    kind: 'url',
    doc: 'The database: `file:path.db`, `file:///abs/path.db` or `:memory:`, or a server at `ws:`, `wss:`, `http:`, `https:` or `libsql:` (WebSocket in `createPool`, HTTP in `createPooledClient` as in the client), read by the client\'s own code.',
  },
  authToken: { kind: 'string', doc: "The server's token, as in `@libsql/client`; `?authToken=` in the URL works too." },
  encryptionKey: { kind: 'string', doc: 'Encryption key of a `file:` database, as in `@libsql/client`. Not for servers.' },
  syncUrl: {
    kind: 'string',
    doc: 'Makes a `file:` database an embedded replica of this server: reads are local, `pool.sync()` pulls changes. A replica is one connection.',
  },
  syncInterval: { kind: 'seconds', doc: 'With `syncUrl`: also sync in the background every this many seconds.' },
  intMode: {
    kind: 'choice',
    values: ['number', 'bigint', 'string'],
    default: DRIVER_DEFAULTS.intMode,
    doc: "How integers come back, as in `@libsql/client`; `'bigint'` or `'string'` keep those outside the safe range.",
  },
  rowMode: {
    kind: 'choice',
    values: ROW_MODES,
    default: 'client',
    doc:
      "`'array'`: rows are plain arrays of values (no row objects built); `'object'`: plain objects keyed by column name " +
      '(no indexes); per call: `execute({ sql, args, rowMode })`. Not in `createPooledClient`.',
  },
  remoteEncryptionKey: {
    kind: 'string',
    doc: 'As in `@libsql/client`: the key of a database the server stores encrypted, sent over HTTP and to a replica; ignored over WebSocket, as there.',
  },
  readYourWrites: { kind: 'boolean', default: true, doc: "Embedded replicas: the client's `readYourWrites`, passed to `libsql`." },
  offline: { kind: 'boolean', default: false, doc: "Embedded replicas: the client's `offline`, passed to `libsql`." },
  tls: {
    kind: 'boolean',
    doc: 'As in `@libsql/client`: `false` makes a `libsql:` URL plain `ws:`/`http:` (with a port); with other schemes it must agree.',
  },
  fetch: {
    kind: 'function',
    doc: "As in `@libsql/client`: every HTTP request to the server goes through it (a `Request` each). Not used by WebSocket or files.",
  },
  concurrency: {
    kind: 'number',
    least: 0,
    doc: "The client's limit on calls at once: when `max` is not given, a `concurrency` above 0 is `max`.",
  },
  timeout: {
    kind: 'number',
    least: 0,
    doc: "The client's `timeout`: another name for `busyTimeoutMs`, in milliseconds (give one, or both equal).",
  },
  min: {
    kind: 'integer',
    default: 1,
    least: 0,
    doc: 'Connections kept open even when idle, with their cached statements. `createPool` opens at least one.',
  },
  max: { kind: 'integer', default: 10, least: 1, doc: 'Most connections open at once. `:memory:` and a replica are always one.' },
  acquireTimeoutMs: {
    kind: 'duration',
    default: 30_000,
    doc: 'How long `acquire()` waits before `ACQUIRE_TIMEOUT`; `Infinity` waits for ever.',
  },
  maxWaiters: {
    kind: 'integer',
    default: INFINITY,
    least: 0,
    unbounded: true,
    doc: 'Most callers queued in `acquire()` before `POOL_EXHAUSTED`.',
  },
  idleTimeoutMs: {
    kind: 'duration',
    default: 30_000,
    doc: 'A connection unused this long closes while more than `min` are open; the only time constant of sizing.',
  },
  maxUses: {
    kind: 'integer',
    default: INFINITY,
    least: 1,
    unbounded: true,
    doc: 'A connection closes after this many checkouts. Not allowed on `:memory:`, where it would erase the database.',
  },
  closeTimeoutMs: {
    kind: 'duration',
    default: 10_000,
    least: 0,
    doc: 'How long `close()` waits for leases before closing their connections, and how long each async cleanup of a closed connection (a disposer, a `close` listener, the cleanup callback) is waited for.',
  },
  busyTimeoutMs: {
    kind: 'integer',
    default: DRIVER_DEFAULTS.busyTimeoutMs,
    // The drop-in client waits as the client does: not at all (see `PoolConfig`).
    clientDefault: 0,
    least: 0,
    doc: 'How long a statement on a file waits for a lock before `SQLITE_BUSY`, off the event loop (`PRAGMA busy_timeout` reads 0). `createPooledClient` defaults to the client\'s 0, so it fails at once as the client does.',
  },
  wal: {
    kind: 'boolean',
    default: DRIVER_DEFAULTS.wal,
    doc: 'Put file databases in WAL mode, so readers run beside a writer; a read-only file keeps its mode.',
  },
  adaptive: {
    kind: 'boolean',
    default: true,
    doc: 'Halve the effective maximum under back-pressure (`SQLITE_BUSY`, HTTP 429/503), double it back when quiet.',
  },
  maxLifetimeMs: {
    kind: 'duration',
    default: INFINITY,
    serverDefault: 1_800_000,
    doc: 'Retire a connection this long after it opened, replacing it first.',
  },
  lifetimeJitter: {
    kind: 'fraction',
    default: 0.1,
    doc: 'The largest fraction a lifetime is shortened by, at random, so connections do not expire together.',
  },
  validateAfterIdleMs: {
    kind: 'duration',
    default: INFINITY,
    serverDefault: 30_000,
    least: 0,
    doc: 'Ping a connection idle longer than this before lending it; one that fails closes (`unhealthy`).',
  },
  validateTimeoutMs: { kind: 'duration', default: 5_000, doc: 'How long that ping may take.' },
  leakDetectionMs: {
    kind: 'duration',
    default: INFINITY,
    doc: 'Report a lease held longer than this (`leak` event), with where it was acquired. `Infinity` is off.',
  },
  warmStatements: {
    kind: 'integer',
    default: 16,
    least: 0,
    doc: "A new connection starts with up to this many of the pool's most used statements prepared.",
  },
  connectRetryMs: {
    kind: 'duration',
    default: 100,
    doc: 'First delay before retrying a failed connect; it doubles per failure, with jitter.',
  },
  connectRetryMaxMs: { kind: 'duration', default: 10_000, doc: 'Longest delay between connect retries.' },
  breakerThreshold: {
    kind: 'integer',
    default: 5,
    least: 1,
    doc: 'Consecutive connect failures that open the circuit breaker: callers then fail at once with the cause.',
  },
  connectTimeoutMs: {
    kind: 'duration',
    default: 10_000,
    doc: 'How long one connect may take before it fails (`CONNECT_FAILED`) and what it half opened is closed.',
  },
  statementCache: {
    kind: 'statementCache',
    default: Object.freeze({
      maxSize: DEFAULT_CACHE_SIZE,
      maxPerConnection: DEFAULT_CACHE_PER_CONNECTION,
      admission: DEFAULT_ADMISSION,
    }),
    doc: "Bounds of the pool's own statement cache and when it keeps a statement (`'second-sighting'`: from a SQL text's second run; `'always'`), `false` for none, or a `PreparedStatementCache` shared between pools.",
  },
  afterConnect: {
    kind: 'function',
    doc: 'Sets up each new connection before it is lent (pragmas, `ATTACH`); what it leaves is what checkin restores.',
  },
  afterRelease: {
    kind: 'function',
    doc: 'Decides at each checkin whether the connection may be lent again; anything but `true` closes it.',
  },
} as const satisfies { readonly [K in keyof PoolConfig]-?: FieldFor<NonNullable<PoolConfig[K]>> };
