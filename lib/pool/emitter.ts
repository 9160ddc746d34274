import type { EventEmitter } from 'eventemitter3';
import { poolEventChannels } from '../diagnostics';
import { PoolError, reportError } from '../errors';
import type { ConnectionCleanupCallback, ConnectionId, PoolEvents } from '../events';

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
 * pool mid-transition.
 *
 * This reads eventemitter3's listener table (`_events`), whose shape has been
 * stable since 1.x: one `{ fn, context, once }` record or an array of them.
 */
export function emitIsolated(
  emitter: EventEmitter,
  event: string,
  payload: unknown,
  onError: (error: unknown) => void,
): void {
  const table = (emitter as unknown as { _events: Record<string, ListenerRecord | ListenerRecord[] | undefined> })
    ._events;
  const raw = table[event];
  if (raw === undefined) return;
  const records = Array.isArray(raw) ? raw.slice() : [raw];
  for (const record of records) {
    if (record.once) emitter.removeListener(event, record.fn, record.context, true);
    try {
      isolateRejection(record.fn.call(record.context, payload), onError);
    } catch (error) {
      onError(error);
    }
  }
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

  constructor(target: EventEmitter<PoolEvents>) {
    this.#target = target;
  }

  /** Whether anyone listens for `event` (a listener or a channel subscriber): payloads are built only then. */
  has(event: keyof PoolEvents): boolean {
    return this.#target.listenerCount(event) > 0 || poolEventChannels[event]?.hasSubscribers === true;
  }

  emit<E extends keyof PoolEvents>(event: E, payload: PoolEvents[E][0]): void {
    emitIsolated(this.#target as unknown as EventEmitter, event, payload, (error) => this.#listenerFailed(event, error));
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

  /** Runs the cleanup callback, isolated like a listener. */
  cleanUp(connectionId: ConnectionId): void {
    const callback = this.#cleanupCallback;
    if (callback === undefined) return;
    try {
      isolateRejection(callback(connectionId), (error) => this.#listenerFailed('cleanupCallback', error));
    } catch (error) {
      this.#listenerFailed('cleanupCallback', error);
    }
  }

  #listenerFailed(event: string, error: unknown): void {
    if (event !== 'listenerError' && this.has('listenerError')) {
      this.emit('listenerError', { event, error });
    } else {
      reportError(error, `a '${event}' listener`);
    }
  }
}
