import { EventEmitter } from 'eventemitter3';
import type { CloseEvent } from '../../lib/events';
import { emitIsolated } from '../../lib/pool/emitter';
import type { AdaptiveConnectionPool } from '../../lib';

/** An `onError` that records what it is given. */
function collector(): { errors: unknown[]; onError: (error: unknown) => void } {
  const errors: unknown[] = [];
  return { errors, onError: (error) => errors.push(error) };
}

describe('emitIsolated', () => {
  test('passes the payload to every listener, in registration order', () => {
    const emitter = new EventEmitter();
    const calls: Array<[string, unknown]> = [];
    emitter.on('tick', (payload: unknown) => calls.push(['a', payload]));
    emitter.on('tick', (payload: unknown) => calls.push(['b', payload]));
    const payload = { n: 1 };
    const { errors, onError } = collector();
    emitIsolated(emitter, 'tick', payload, onError);
    expect(calls).toEqual([
      ['a', payload],
      ['b', payload],
    ]);
    expect(calls[0]![1]).toBe(payload);
    expect(errors).toEqual([]);
  });

  test('every listener runs even when earlier ones throw, and onError receives each error', () => {
    const emitter = new EventEmitter();
    const first = new Error('first');
    const third = new Error('third');
    const ran: string[] = [];
    emitter.on('tick', () => {
      ran.push('first');
      throw first;
    });
    emitter.on('tick', () => ran.push('second'));
    emitter.on('tick', () => {
      ran.push('third');
      throw third;
    });
    emitter.on('tick', () => ran.push('fourth'));
    const { errors, onError } = collector();
    expect(() => emitIsolated(emitter, 'tick', undefined, onError)).not.toThrow();
    expect(ran).toEqual(['first', 'second', 'third', 'fourth']);
    expect(errors).toEqual([first, third]);
    expect(errors[0]).toBe(first);
    expect(errors[1]).toBe(third);
  });

  test('a single throwing listener (eventemitter3 stores it unwrapped) is isolated too', () => {
    const emitter = new EventEmitter();
    const boom = new Error('boom');
    emitter.on('tick', () => {
      throw boom;
    });
    const { errors, onError } = collector();
    expect(() => emitIsolated(emitter, 'tick', 1, onError)).not.toThrow();
    expect(errors).toEqual([boom]);
  });

  test('non-Error throws reach onError unchanged', () => {
    const emitter = new EventEmitter();
    emitter.on('tick', () => {
      throw 'a string';
    });
    const { errors, onError } = collector();
    emitIsolated(emitter, 'tick', 1, onError);
    expect(errors).toEqual(['a string']);
  });

  test('once listeners run exactly once across two emits', () => {
    const emitter = new EventEmitter();
    const once = jest.fn();
    const always = jest.fn();
    emitter.once('tick', once);
    emitter.on('tick', always);
    const { errors, onError } = collector();
    emitIsolated(emitter, 'tick', 1, onError);
    emitIsolated(emitter, 'tick', 2, onError);
    expect(once).toHaveBeenCalledTimes(1);
    expect(once).toHaveBeenCalledWith(1);
    expect(always).toHaveBeenCalledTimes(2);
    expect(emitter.listenerCount('tick')).toBe(1);
    expect(errors).toEqual([]);
  });

  test('a once listener that throws is still removed', () => {
    const emitter = new EventEmitter();
    const once = jest.fn(() => {
      throw new Error('once');
    });
    emitter.once('tick', once);
    const { errors, onError } = collector();
    emitIsolated(emitter, 'tick', 1, onError);
    emitIsolated(emitter, 'tick', 2, onError);
    expect(once).toHaveBeenCalledTimes(1);
    expect(errors).toHaveLength(1);
    expect(emitter.listenerCount('tick')).toBe(0);
  });

  test('listeners added with a context get `this` bound to it', () => {
    const emitter = new EventEmitter();
    const context = { name: 'ctx' };
    const seen: unknown[] = [];
    emitter.on(
      'tick',
      function (this: unknown) {
        seen.push(this);
      },
      context,
    );
    emitter.once(
      'tick',
      function (this: unknown) {
        seen.push(this);
      },
      context,
    );
    emitIsolated(emitter, 'tick', 1, () => undefined);
    expect(seen).toHaveLength(2);
    expect(seen[0]).toBe(context);
    expect(seen[1]).toBe(context);
  });

  test('no listeners: nothing is called and onError is not called', () => {
    const emitter = new EventEmitter();
    const other = jest.fn();
    emitter.on('other', other);
    const onError = jest.fn();
    expect(() => emitIsolated(emitter, 'tick', 1, onError)).not.toThrow();
    expect(other).not.toHaveBeenCalled();
    expect(onError).not.toHaveBeenCalled();
  });

  test('an event whose listeners were all removed calls nothing', () => {
    const emitter = new EventEmitter();
    const listener = jest.fn();
    emitter.on('tick', listener);
    emitter.off('tick', listener);
    const onError = jest.fn();
    emitIsolated(emitter, 'tick', 1, onError);
    expect(listener).not.toHaveBeenCalled();
    expect(onError).not.toHaveBeenCalled();
  });

  test('a listener that removes another during emit does not break the current emit (the snapshot runs)', () => {
    const emitter = new EventEmitter();
    const ran: string[] = [];
    const second = () => ran.push('second');
    const third = () => ran.push('third');
    emitter.on('tick', () => {
      ran.push('first');
      emitter.off('tick', second);
    });
    emitter.on('tick', second);
    emitter.on('tick', third);
    const { errors, onError } = collector();
    emitIsolated(emitter, 'tick', 1, onError);
    expect(ran).toEqual(['first', 'second', 'third']);
    expect(errors).toEqual([]);
    // The removal takes effect from the next emit on.
    ran.length = 0;
    emitIsolated(emitter, 'tick', 2, onError);
    expect(ran).toEqual(['first', 'third']);
  });

  test('a listener added during emit runs from the next emit on', () => {
    const emitter = new EventEmitter();
    const added = jest.fn();
    emitter.once('tick', () => emitter.on('tick', added));
    emitIsolated(emitter, 'tick', 1, () => undefined);
    expect(added).not.toHaveBeenCalled();
    emitIsolated(emitter, 'tick', 2, () => undefined);
    expect(added).toHaveBeenCalledTimes(1);
    expect(added).toHaveBeenCalledWith(2);
  });
});

describe('PoolEvents', () => {
  // Never called: it only has to compile. ts-jest type-checks this file, so an
  // unused @ts-expect-error (an error that did not happen) fails the run.
  function typeChecks(): void {
    const pool = null as unknown as AdaptiveConnectionPool;
    // @ts-expect-error 'nope' is not a pool event
    pool.on('nope', () => undefined);
    // @ts-expect-error a close listener receives a CloseEvent, not { wrong: string }
    pool.on('close', (e: { wrong: string }) => e.wrong);
    // @ts-expect-error the checkout payload has no `reason`
    pool.on('checkout', (e) => e.reason);
    pool.on('close', (e) => e.reason);
    pool.on('checkin', (e) => e.heldMs);
    pool.on('checkout', (e) => e.waitedMs);
    pool.on('create', (e) => e.connectionId);
  }

  test('is a typed event map (checked at compile time)', () => {
    expect(typeof typeChecks).toBe('function');
    const reason: CloseEvent['reason'] = 'idle';
    expect(reason).toBe('idle');
  });
});
