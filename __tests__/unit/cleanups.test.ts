import type { CloseEvent } from '../../lib';
import { Cleanups, type CleanupSource } from '../../lib/pool/cleanups';
import { ResourceRegistry, type ConnectionResource } from '../../lib/pool/resources';

afterEach(() => {
  jest.useRealTimers();
});

const source: CleanupSource = { event: 'close', connectionId: 7 };

function tracker(timeoutMs = 1000) {
  const reported: Array<[CleanupSource, unknown]> = [];
  return { cleanups: new Cleanups(timeoutMs, (s, error) => reported.push([s, error])), reported };
}

describe('Cleanups', () => {
  test('tracks promises only, until they settle; a rejection is reported once', async () => {
    const { cleanups, reported } = tracker();
    cleanups.track(undefined, source);
    cleanups.track(42, source);
    expect(cleanups.size).toBe(0);
    cleanups.track(Promise.resolve(), source);
    cleanups.track(Promise.reject(new Error('no')), source);
    expect(cleanups.size).toBe(2);
    await cleanups.settled(Number.POSITIVE_INFINITY);
    expect(cleanups.size).toBe(0);
    expect(reported).toEqual([[source, new Error('no')]]);
  });

  test('a thenable whose then throws is reported, not thrown', () => {
    const { cleanups, reported } = tracker();
    const broken = { then: () => { throw new Error('broken'); } };
    expect(() => cleanups.track(broken, source)).not.toThrow();
    expect(reported).toEqual([[source, new Error('broken')]]);
    expect(cleanups.size).toBe(0);
  });

  test('one that never settles is given up at its deadline, reported as CLEANUP_TIMEOUT, and a late settle changes nothing', async () => {
    jest.useFakeTimers();
    const { cleanups, reported } = tracker(1000);
    let settle!: () => void;
    cleanups.track(new Promise<void>((resolve) => (settle = resolve)), { ...source, resource: 'metrics' });
    await jest.advanceTimersByTimeAsync(999);
    expect(reported).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(reported).toHaveLength(1);
    expect(reported[0]![1]).toBePoolError('CLEANUP_TIMEOUT');
    expect((reported[0]![1] as Error).message).toMatch("'metrics' disposer of connection 7 did not settle within 1000 ms");
    settle();
    await cleanups.settled(0);
    expect(reported).toHaveLength(1);
  });

  test('settled(limit) gives up what is still pending when the limit passes', async () => {
    jest.useFakeTimers();
    const { cleanups, reported } = tracker(10_000);
    cleanups.track(new Promise(() => undefined), source);
    let done = false;
    const waiting = cleanups.settled(500).then(() => (done = true));
    await jest.advanceTimersByTimeAsync(499);
    expect(done).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    await waiting;
    expect(reported.map(([, e]) => (e as { code: string }).code)).toEqual(['CLEANUP_TIMEOUT']);
  });
});

describe('ResourceRegistry', () => {
  const info = (connectionId: number) => ({ connectionId, createdAt: 0, uses: 1 });
  const closeEvent = (connectionId: number): CloseEvent => ({ ...info(connectionId), reason: 'idle' });

  test('disposes of a connection once, latest kind first, only the values it made', () => {
    const log: string[] = [];
    const registry = new ResourceRegistry({ failed: () => undefined, track: () => undefined });
    const kinds: Array<ConnectionResource<string>> = ['a', 'b', 'c'].map((name) =>
      registry.define({ name, create: ({ connectionId }) => `${name}${connectionId}`, dispose: (v) => void log.push(v) }, []),
    );
    registry.value(kinds[0]!, info(1));
    registry.value(kinds[2]!, info(1));
    registry.value(kinds[1]!, info(2));
    registry.dispose(closeEvent(1));
    registry.dispose(closeEvent(1));
    expect(log).toEqual(['c1', 'a1']);
    registry.dispose(closeEvent(2));
    expect(log).toEqual(['c1', 'a1', 'b2']);
  });

  test('an eager kind is made for the open connections at once and for each that opens', () => {
    const made: number[] = [];
    const registry = new ResourceRegistry({ failed: () => undefined, track: () => undefined });
    const kind = registry.define({ eager: true, create: ({ connectionId }) => made.push(connectionId) }, [info(1), info(2)]);
    registry.opened(info(3));
    expect(made).toEqual([1, 2, 3]);
    expect(registry.value(kind, info(2))).toBe(2);
  });

  test('a disposer that throws is reported and the others still run; what one returns is tracked', () => {
    const failed: string[] = [];
    const tracked: unknown[] = [];
    const registry = new ResourceRegistry({
      failed: (kind, phase, id, error) => failed.push(`${kind.name} ${phase} ${id}: ${(error as Error).message}`),
      track: (_kind, _id, result) => tracked.push(result),
    });
    const promise = Promise.resolve();
    const a = registry.define({ name: 'a', create: () => 1, dispose: () => promise }, []);
    const b = registry.define({ name: 'b', create: () => 1, dispose: () => { throw new Error('bad'); } }, []);
    registry.value(a, info(1));
    registry.value(b, info(1));
    registry.dispose(closeEvent(1));
    expect(failed).toEqual(['b dispose 1: bad']);
    expect(tracked).toEqual([promise]);
  });
});
