import type { EventEmitter } from 'eventemitter3';
import { poolEventChannels } from '../diagnostics';
import { PoolError, reportError } from '../errors';
import type { CloseEvent, ConnectionCleanupCallback, ConnectionId, ConnectionInfo, PoolEvents, ResizeEvent } from '../events';
import { Cleanups, type CleanupSource } from './cleanups';
import { ResourceRegistry } from './resources';

interface ListenerRecord {
  fn: (...args: unknown[]) => unknown;
  context: unknown;
  once: boolean;
}

/**
 * Emits like eventemitter3 does, but runs every listener even if an earlier one
 * throws, and hands each failure to `onError`: a throw, or the rejection of
 * the promise an `async` listener returns. eventemitter3's own `emit` has
 * no try/catch: one throwing listener would skip the rest and unwind into the
 * pool mid-transition. `settle`, when given, takes each listener's return
 * value instead, so a caller that tracks promises sees them; it must not throw.
 *
 * This reads eventemitter3's listener table (`_events`), whose shape has been
 * stable since 1.x: one `{ fn, context, once }` record or an array of them.
 */
export function emitIsolated(
  emitter: EventEmitter,
  event: string,
  payload: unknown,
  onError: (error: unknown) => void,
  settle?: (result: unknown) => void,
): void {
  const raw = listenerTable(emitter)[event];
  if (raw === undefined) return;
  // One listener, the common case, is called without copying the table into an array.
  if (!Array.isArray(raw)) return callIsolated(emitter, event, raw, payload, onError, settle);
  for (const record of raw.slice()) callIsolated(emitter, event, record, payload, onError, settle);
}

function callIsolated(
  emitter: EventEmitter,
  event: string,
  record: ListenerRecord,
  payload: unknown,
  onError: (error: unknown) => void,
  settle: ((result: unknown) => void) | undefined,
): void {
  if (record.once) emitter.removeListener(event, record.fn, record.context, true);
  try {
    const result = record.fn.call(record.context, payload);
    if (settle === undefined) isolateRejection(result, onError);
    else settle(result);
  } catch (error) {
    onError(error);
  }
}

/** eventemitter3's listener table: an event with no listener has no entry (removing the last one deletes it). */
function listenerTable(emitter: object): Record<string, ListenerRecord | ListenerRecord[] | undefined> {
  return (emitter as { _events: Record<string, ListenerRecord | ListenerRecord[] | undefined> })._events;
}

/**
 * Hands the rejection of `result`, if it is a promise (an `async` callback's
 * return value), to `onError`. Left alone it would be an unhandled rejection,
 * which ends a Node process; a rejection is the async form of a throw and is
 * reported the same way. May throw if `result.then` does (a broken thenable).
 */
export function isolateRejection(result: unknown, onError: (error: unknown) => void): void {
  if (typeof result === 'object' && result !== null && typeof (result as PromiseLike<unknown>).then === 'function') {
    (result as PromiseLike<unknown>).then(undefined, onError);
  }
}

/**
 * The pool's way out to its listeners. Every event is emitted isolated: each
 * listener runs even if an earlier one throws, and a failure (a throw, or an
 * `async` listener's rejection) becomes a `listenerError` event, or a process
 * warning when nobody listens for that; it never unwinds into the pool. Each
 * event is mirrored on its `node:diagnostics_channel` channel. eventemitter3's
 * `'error'` is never emitted: it is silently dropped when nobody listens.
 */
export class PoolEmitter {
  readonly #target: EventEmitter<PoolEvents>;
  #cleanupCallback: ConnectionCleanupCallback | undefined;
  /**
   * The promises returned when a connection closes (by `close` listeners, the
   * cleanup callback and resource disposers): tracked so `pool.close()` can
   * wait for them, each for `cleanupTimeoutMs` at most.
   */
  readonly cleanups: Cleanups;
  /**
   * Per-connection values (`pool.defineResource`), disposed of as their
   * connection closes, before its `close` listeners run; failures are
   * reported, and promises tracked, like those of the listeners.
   */
  readonly resources: ResourceRegistry;

  constructor(target: EventEmitter<PoolEvents>, cleanupTimeoutMs = Number.POSITIVE_INFINITY) {
    this.#target = target;
    this.cleanups = new Cleanups(cleanupTimeoutMs, (source, error) => this.failed(source, error));
    this.resources = new ResourceRegistry({
      failed: (kind, event, connectionId, error) => this.failed({ event, connectionId, resource: kind.name }, error),
      track: (kind, connectionId, result) =>
        this.cleanups.track(result, { event: 'dispose', connectionId, resource: kind.name }),
    });
  }

  /** Whether anyone listens for `event` (a listener or a channel subscriber): payloads are built only then. */
  has(event: keyof PoolEvents): boolean {
    // The listener table as `emitIsolated` reads it: cheaper than `listenerCount`, asked twice per lease.
    return listenerTable(this.#target)[event] !== undefined || poolEventChannels[event]?.hasSubscribers === true;
  }

  emit<E extends keyof PoolEvents>(event: E, payload: PoolEvents[E][0]): void {
    const onError = (error: unknown) => this.#listenerFailed(event, error);
    // A `close` listener is a cleanup: what it returns is tracked, not just isolated.
    const settle =
      event === 'close'
        ? (result: unknown) => this.cleanups.track(result, { event, connectionId: (payload as CloseEvent).connectionId })
        : undefined;
    emitIsolated(this.#target as unknown as EventEmitter, event, payload, onError, settle);
    const channel = poolEventChannels[event];
    if (channel?.hasSubscribers) channel.publish(payload);
  }

  /**
   * Sets the one callback run with the id of each connection that closes
   * (`pool.setCleanupCallback`). Anything but a function is refused here,
   * when it is set, rather than failing at each close.
   */
  setCleanupCallback(callback: ConnectionCleanupCallback): void {
    if (typeof callback !== 'function') {
      throw new PoolError('INVALID_ARGUMENT', 'setCleanupCallback expects a function');
    }
    this.#cleanupCallback = callback;
  }

  removeCleanupCallback(): void {
    this.#cleanupCallback = undefined;
  }

  /** A connection opened: its eager resources are made, then `create` and `resize` are told. */
  opened(info: ConnectionInfo, resize: ResizeEvent): void {
    this.resources.opened(info);
    this.emit('create', info);
    if (this.has('resize')) this.emit('resize', resize);
  }

  /**
   * Step (3) of retiring a connection: its resources are disposed of, then
   * the `close` listeners run, then `resize`'s, then the cleanup callback.
   * Promises any of them return are tracked, never awaited here.
   */
  closed(event: CloseEvent, resize: ResizeEvent): void {
    this.resources.dispose(event);
    this.emit('close', event);
    if (this.has('resize')) this.emit('resize', resize);
    this.#cleanUp(event.connectionId);
  }

  /** Runs the cleanup callback, isolated like a listener; a promise it returns is tracked. */
  #cleanUp(connectionId: ConnectionId): void {
    const callback = this.#cleanupCallback;
    if (callback === undefined) return;
    try {
      this.cleanups.track(callback(connectionId), { event: 'cleanupCallback', connectionId });
    } catch (error) {
      this.#listenerFailed('cleanupCallback', error);
    }
  }

  /**
   * Reports a failed cleanup: a rejection or a timeout of what `source` ran,
   * or a resource's `create` or `dispose` that threw. A resource's report
   * names it and its connection.
   */
  failed(source: CleanupSource, error: unknown): void {
    if (source.resource === undefined) return this.#listenerFailed(source.event, error);
    const { event, resource, connectionId } = source;
    if (this.has('listenerError')) this.emit('listenerError', { event, error, resource, connectionId });
    else reportError(error, `the '${resource}' resource's ${event} (connection ${connectionId})`);
  }

  #listenerFailed(event: string, error: unknown): void {
    if (event !== 'listenerError' && this.has('listenerError')) {
      this.emit('listenerError', { event, error });
    } else {
      reportError(error, `a '${event}' listener`);
    }
  }
}
