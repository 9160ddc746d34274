import { PoolError } from '../errors';
import type { CloseEvent, ConnectionId, ConnectionInfo } from '../events';

/** How a kind of per-connection resource is made and released (`pool.defineResource`). */
export interface ResourceOptions<T> {
  /** Names the kind in `listenerError` reports and warnings. @default 'resource <n>' */
  readonly name?: string;
  /**
   * Makes the value for one connection: on the first `lease.resource(kind)`
   * of that connection, or as soon as it opens when `eager`. A throw reaches
   * the caller of `lease.resource()`, and the next call tries again.
   */
  readonly create: (info: ConnectionInfo) => T;
  /**
   * Releases the value when its connection closes, whatever the reason, once.
   * It may return a promise: `pool.close()` waits for it (up to
   * `closeTimeoutMs`), and a rejection or a timeout becomes `listenerError`.
   */
  readonly dispose?: (value: T, event: CloseEvent) => unknown;
  /**
   * Makes the value for every connection as it opens (and, at once, for those
   * already open), rather than on first use. @default false
   */
  readonly eager?: boolean;
}

let unnamed = 0;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

/**
 * A kind of per-connection resource, as `pool.defineResource()` returns it:
 * the key `lease.resource(kind)` reads a connection's value by, typed as its
 * `create` returns.
 */
export class ConnectionResource<T> {
  readonly name: string;
  /** @internal */
  readonly options: ResourceOptions<T>;

  /** @internal Kinds come from `pool.defineResource()`. */
  constructor(options: ResourceOptions<T>) {
    this.options = options;
    this.name = options.name ?? `resource ${++unnamed}`;
  }
}

/** Anything that keeps per-connection resources: a pool. */
export interface ResourceHost {
  defineResource<T>(options: ResourceOptions<T>): ConnectionResource<T>;
  removeResource<T>(kind: ConnectionResource<T>): boolean;
}

/** What the registry needs of the pool: where a failure goes, and where a returned promise goes. */
export interface ResourceHooks {
  /** A `create` (eager) or `dispose` threw; `phase` says which. */
  readonly failed: (kind: ConnectionResource<unknown>, phase: 'create' | 'dispose', connectionId: ConnectionId, error: unknown) => void;
  /** A disposer returned `result`: if it is a promise, the pool tracks it until it settles. */
  readonly track: (kind: ConnectionResource<unknown>, connectionId: ConnectionId, result: unknown) => void;
}

/**
 * The values of every resource kind for every open connection. A value is
 * made at most once per connection and kind (unless making it threw), and
 * disposed of at most once: a connection's values are taken out of the
 * registry before the first disposer runs, so nothing, not even a disposer
 * that calls back into the pool, can reach them again.
 */
export class ResourceRegistry {
  /** In definition order; disposal runs in reverse, so a later kind may rely on an earlier one. */
  readonly #kinds: ConnectionResource<unknown>[] = [];
  readonly #values = new Map<ConnectionId, Map<ConnectionResource<unknown>, unknown>>();
  readonly #hooks: ResourceHooks;

  constructor(hooks: ResourceHooks) {
    this.#hooks = hooks;
  }

  /** Adds a kind; an eager one is made at once for the connections in `open`. */
  define<T>(options: ResourceOptions<T>, open: Iterable<ConnectionInfo>): ConnectionResource<T> {
    if (typeof options !== 'object' || options === null || typeof options.create !== 'function') {
      throw new PoolError('INVALID_ARGUMENT', 'defineResource expects { create: (info) => value, dispose?, eager? }');
    }
    if (options.dispose !== undefined && typeof options.dispose !== 'function') {
      throw new PoolError('INVALID_ARGUMENT', 'defineResource: dispose must be a function');
    }
    const kind = new ConnectionResource(options);
    this.#kinds.push(kind as ConnectionResource<unknown>);
    if (options.eager === true) for (const info of open) this.#makeEagerly(kind as ConnectionResource<unknown>, info);
    return kind;
  }

  /**
   * Forgets a kind: no value of it is made again, and the values already made
   * are dropped without being disposed of (their connections are open, and a
   * lease may be using them). Returns whether the kind was defined here.
   */
  remove<T>(kind: ConnectionResource<T>): boolean {
    const at = this.#kinds.indexOf(kind as ConnectionResource<unknown>);
    if (at === -1) return false;
    this.#kinds.splice(at, 1);
    for (const values of this.#values.values()) values.delete(kind as ConnectionResource<unknown>);
    return true;
  }

  /** A connection opened: its eager values are made now. */
  opened(info: ConnectionInfo): void {
    for (const kind of this.#kinds) if (kind.options.eager === true) this.#makeEagerly(kind, info);
  }

  /** The connection's value of `kind`, made now if it has none yet. */
  value<T>(kind: ConnectionResource<T>, info: ConnectionInfo): T {
    const values = this.#values.get(info.connectionId);
    if (values?.has(kind as ConnectionResource<unknown>)) return values.get(kind as ConnectionResource<unknown>) as T;
    if (!this.#kinds.includes(kind as ConnectionResource<unknown>)) {
      throw new PoolError(
        'INVALID_ARGUMENT',
        `The resource '${String((kind as Partial<ConnectionResource<T>>)?.name)}' is not defined on this pool`,
      );
    }
    const value = kind.options.create(info);
    this.#store(kind as ConnectionResource<unknown>, info.connectionId, value);
    return value;
  }

  /** Disposes of every value of a closing connection, latest kind first, each isolated from the others. */
  dispose(event: CloseEvent): void {
    const values = this.#values.get(event.connectionId);
    if (values === undefined) return;
    this.#values.delete(event.connectionId);
    for (let i = this.#kinds.length - 1; i >= 0; i--) {
      const kind = this.#kinds[i]!;
      const dispose = kind.options.dispose;
      if (dispose === undefined || !values.has(kind)) continue;
      try {
        this.#hooks.track(kind, event.connectionId, dispose(values.get(kind), event));
      } catch (error) {
        this.#hooks.failed(kind, 'dispose', event.connectionId, error);
      }
    }
  }

  #makeEagerly(kind: ConnectionResource<unknown>, info: ConnectionInfo): void {
    if (this.#values.get(info.connectionId)?.has(kind)) return;
    try {
      const value = kind.options.create(info);
      this.#store(kind, info.connectionId, value);
      // Nobody awaits a value made eagerly yet: its rejection would go unhandled.
      if (isThenable(value)) value.then(undefined, (error) => this.#hooks.failed(kind, 'create', info.connectionId, error));
    } catch (error) {
      // Reported, and made again on first use: a lease that needs it hears why then.
      this.#hooks.failed(kind, 'create', info.connectionId, error);
    }
  }

  #store(kind: ConnectionResource<unknown>, connectionId: ConnectionId, value: unknown): void {
    let values = this.#values.get(connectionId);
    if (values === undefined) this.#values.set(connectionId, (values = new Map()));
    values.set(kind, value);
  }
}
