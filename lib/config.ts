import { PoolError, describeValue } from './errors';
import { FIELDS, type Field, type PoolConfig, type StatementCacheBounds } from './config-fields';
import { ADMISSION_POLICIES, PreparedStatementCache, type AdmissionPolicy } from './statement-cache';
import { readUrl, type Target, type UrlOptions } from './url';
import { timerDelay } from './time';

export type { PoolConfig, StatementCacheBounds } from './config-fields';

/** What `statementCache` resolves to: the bounds of the pool's own cache, `false`, or a cache to share. */
export type StatementCacheSetting = false | StatementCacheBounds | PreparedStatementCache<unknown>;

type Fields = typeof FIELDS;
type Defaulted = { [K in keyof Fields]: Fields[K] extends { readonly default: unknown } ? K : never }[keyof Fields];

type Optional = Exclude<keyof PoolConfig, Defaulted | 'url'>;

/**
 * Every field of `PoolConfig`, with its default where it has one. (Mapped over
 * plain unions of names, so that the fields without a default are present,
 * as `undefined`, rather than optional.)
 */
type ResolvedFields = {
  readonly [K in Exclude<keyof PoolConfig, Optional>]: K extends 'statementCache'
    ? StatementCacheSetting
    : NonNullable<PoolConfig[K]>;
} & { readonly [K in Optional]: PoolConfig[K] | undefined };

/**
 * `PoolConfig` with every default applied, validated and frozen: plain data,
 * nothing opened or built. `authToken` is the one that applies (the URL's
 * `?authToken=` wins, as in `@libsql/client`).
 */
export interface ResolvedConfig extends ResolvedFields {
  /** The database `url` names, as `readUrl` reads it. */
  readonly target: Target;
  /** `file` for a local database, `ws` or `http` for a server. */
  readonly protocol: 'file' | 'ws' | 'http';
  /** The server's base URL (remote databases only). */
  readonly serverUrl: string | undefined;
  /** What the local driver opens (a path, or `file::memory:`); empty for a server. */
  readonly path: string;
  readonly memory: boolean;
}

/**
 * Marks a config to be read as `@libsql/client`'s `createClient` reads it
 * (see `UrlOptions.asClient`): `createPooledClient` sets it on its copy of the
 * caller's config, which then flows unchanged through `createPool`, the pool's
 * constructor and `reconnect()`. A symbol, so it is no field of `PoolConfig`
 * and no caller can set it by accident; the default it changes is
 * `busyTimeoutMs`'s, and `libsql:` URLs then mean HTTP.
 */
export const CLIENT_SEMANTICS: unique symbol = Symbol('libsql-pool.clientSemantics');

/** Whether `config` is to be read as the client reads it (`CLIENT_SEMANTICS`). */
export function readAsClient(config: PoolConfig): boolean {
  return (config as { [CLIENT_SEMANTICS]?: unknown })[CLIENT_SEMANTICS] === true;
}

/** Validates `config` and fills in every default. Throws `PoolError` `INVALID_CONFIG` naming the field. */
export function resolveConfig(config: PoolConfig): ResolvedConfig {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw invalid('config', 'an object like { url: "file:app.db" }', config);
  }
  for (const key of Object.keys(config)) {
    if (!Object.hasOwn(FIELDS, key)) throw new PoolError('INVALID_CONFIG', `Unknown pool config field \`${key}\``);
  }
  const values: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(FIELDS) as Array<[keyof PoolConfig, Field]>) {
    values[name] = checkField(name, field, config[name]);
  }
  const asClient = readAsClient(config);
  // Some defaults depend on what the URL names, so it is read first; what goes
  // with it (`authToken`, `encryptionKey`, `syncUrl`, `syncInterval`, `tls`) has no default.
  const target = readUrl(values.url as string, { ...(values as UrlOptions), asClient });
  const server = target.kind === 'server';

  // The client's names for the pool's settings, read before the defaults.
  const { timeout, concurrency } = values as { timeout: number | undefined; concurrency: number | undefined };
  if (timeout !== undefined) {
    const ms = Math.ceil(timeout);
    if (values.busyTimeoutMs !== undefined && values.busyTimeoutMs !== ms) {
      throw new PoolError(
        'INVALID_CONFIG',
        `\`timeout\` (${timeout}) is the client's name for \`busyTimeoutMs\` (${String(values.busyTimeoutMs)}); give one of them`,
      );
    }
    values.busyTimeoutMs = ms;
  }
  // The client's `concurrency` bounds the calls it runs at once, as `max`
  // bounds a pool's connections; the client reads 0 as its default.
  if (values.max === undefined && concurrency !== undefined && concurrency > 0) values.max = Math.ceil(concurrency);

  for (const [name, field] of Object.entries(FIELDS) as Array<[keyof PoolConfig, Field]>) {
    values[name] ??= defaultOf(field, server, asClient);
  }
  const c = values as { -readonly [K in keyof ResolvedFields]: ResolvedFields[K] };

  // The rules that tie fields together. (Those of `syncUrl`, `syncInterval`
  // and `encryptionKey`, which say what the URL names, are `readUrl`'s.)

  // An in-memory database lives on the one connection that opened it, and each
  // connection to a replica carries its own sync state: both are one connection.
  if (target.kind === 'memory' || c.syncUrl !== undefined) {
    c.min = 1;
    c.max = 1;
  } else if (c.min > c.max) {
    throw new PoolError('INVALID_CONFIG', `Expected \`min\` (${c.min}) to be at most \`max\` (${c.max})`);
  }
  if (target.kind === 'memory' && Number.isFinite(c.maxUses)) {
    throw new PoolError(
      'INVALID_CONFIG',
      '`maxUses` cannot be set for an in-memory database: retiring its only connection would erase the database',
    );
  }
  // A `Client`'s rows are the client's: code written for one (an ORM's
  // adapter) reads columns by name, and would read `undefined` from arrays.
  if (asClient && c.rowMode !== 'client') {
    throw new PoolError('INVALID_CONFIG', "`rowMode` must be 'client' in createPooledClient: a Client's rows are the client's");
  }
  if (c.connectRetryMaxMs < c.connectRetryMs) {
    throw new PoolError('INVALID_CONFIG', `Expected \`connectRetryMaxMs\` to be at least \`connectRetryMs\` (${c.connectRetryMs})`);
  }

  return Object.freeze({
    ...c,
    authToken: target.kind === 'memory' ? undefined : target.authToken,
    target: Object.freeze(target),
    protocol: server ? target.protocol : 'file',
    serverUrl: server ? target.url : undefined,
    path: server ? '' : target.path,
    memory: target.kind === 'memory',
  });
}

/** The value of a field given in a config, checked and normalised; `undefined` if it was not given. */
function checkField(name: string, field: Field, value: unknown): unknown {
  if (value === undefined && field.kind !== 'url') return undefined;
  switch (field.kind) {
    case 'url':
      if (typeof value !== 'string' || value === '') throw invalid(name, 'a non-empty string', value);
      return value;
    case 'string':
      if (typeof value !== 'string') throw invalid(name, 'a string', value);
      return value;
    case 'function':
      if (typeof value !== 'function') throw invalid(name, 'a function', value);
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw invalid(name, 'a boolean', value);
      return value;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value) || value < field.least) {
        throw invalid(name, `a finite number >= ${field.least}`, value);
      }
      return value;
    case 'choice':
      if (!field.values.includes(value as string)) throw invalid(name, oneOf(field.values), value);
      return value;
    case 'seconds':
      if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
        throw invalid(name, 'a number of seconds > 0', value);
      }
      return value;
    case 'fraction':
      if (typeof value !== 'number' || !(value >= 0 && value < 1)) throw invalid(name, 'a fraction >= 0 and < 1', value);
      return value;
    case 'integer':
      return integer(name, value, field.least, field.unbounded === true);
    case 'duration': {
      const least = field.least ?? 1;
      if (typeof value !== 'number' || Number.isNaN(value) || value < least) {
        throw invalid(name, `a number of milliseconds >= ${least}, or Infinity`, value);
      }
      return timerDelay(value);
    }
    case 'statementCache':
      return statementCache(value);
  }
}

function defaultOf(field: Field, server: boolean, asClient: boolean): unknown {
  if (field.kind === 'duration' && server) return field.serverDefault ?? field.default;
  if (field.kind === 'integer' && asClient) return field.clientDefault ?? field.default;
  return 'default' in field ? field.default : undefined;
}

function integer(name: string, value: unknown, least: number, unbounded: boolean): number {
  const ok = typeof value === 'number' && (Number.isInteger(value) || (unbounded && value === Infinity));
  if (!ok || value < least) throw invalid(name, `an integer >= ${least}${unbounded ? ', or Infinity' : ''}`, value);
  return value;
}

function statementCache(value: unknown): StatementCacheSetting {
  if (value === false || value instanceof PreparedStatementCache) return value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('statementCache', 'false, { maxSize, maxPerConnection, admission } or a PreparedStatementCache', value);
  }
  for (const key of Object.keys(value)) {
    if (key !== 'maxSize' && key !== 'maxPerConnection' && key !== 'admission') {
      throw new PoolError('INVALID_CONFIG', `Unknown \`statementCache\` field \`${key}\``);
    }
  }
  const {
    maxSize: size,
    maxPerConnection: perConnection,
    admission = FIELDS.statementCache.default.admission,
  } = value as Partial<Record<keyof StatementCacheBounds, unknown>>;
  const { default: bounds } = FIELDS.statementCache;
  const maxSize = integer('statementCache.maxSize', size ?? bounds.maxSize, 0, false);
  // As `PreparedStatementCache` does: one connection may fill a small cache.
  const maxPerConnection = integer(
    'statementCache.maxPerConnection',
    perConnection ?? Math.min(bounds.maxPerConnection, maxSize),
    0,
    false,
  );
  if (!ADMISSION_POLICIES.includes(admission as AdmissionPolicy)) {
    throw invalid('statementCache.admission', oneOf(ADMISSION_POLICIES), admission);
  }
  return Object.freeze({ maxSize, maxPerConnection, admission: admission as AdmissionPolicy });
}

/** `"a", "b" or "c"`. */
function oneOf(values: readonly string[]): string {
  const quoted = values.map((v) => JSON.stringify(v));
  return `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`;
}

function invalid(field: string, expected: string, value: unknown): PoolError {
  return new PoolError('INVALID_CONFIG', `Expected \`${field}\` to be ${expected}, got ${describeValue(value)}`);
}
