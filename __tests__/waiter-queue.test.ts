import { WaiterQueue, type Waiter } from '../lib/pool/waiters';

function waiter(id: number, log: string[]): Waiter<string> {
  return {
    resolve: (v) => log.push(`${id} resolved ${v}`),
    reject: () => log.push(`${id} rejected`),
    enqueuedAt: id,
    settled: false,
    timer: undefined,
    signal: undefined,
    onAbort: undefined,
  };
}

describe('WaiterQueue', () => {
  test('hands out waiters in arrival order', () => {
    const q = new WaiterQueue<string>();
    const log: string[] = [];
    for (const id of [1, 2, 3]) q.push(waiter(id, log));
    expect([q.take()!.enqueuedAt, q.take()!.enqueuedAt, q.take()!.enqueuedAt]).toEqual([1, 2, 3]);
    expect(q.take()).toBeUndefined();
    expect(q.size).toBe(0);
  });

  test('skips a waiter settled in place (timed out or aborted)', () => {
    const q = new WaiterQueue<string>();
    const log: string[] = [];
    const [a, b, c] = [waiter(1, log), waiter(2, log), waiter(3, log)];
    for (const w of [a, b, c]) q.push(w);
    expect(q.settle(b)).toBe(true);
    expect(q.size).toBe(2);
    expect([q.take(), q.take(), q.take()]).toEqual([a, c, undefined]);
  });

  test('settles each waiter exactly once', () => {
    const q = new WaiterQueue<string>();
    const w = waiter(1, []);
    q.push(w);
    expect(q.settle(w)).toBe(true);
    expect(q.settle(w)).toBe(false);
    expect(q.take()).toBeUndefined();
    expect(q.size).toBe(0);
  });

  test('clears the timer and the abort listener of a settled waiter', () => {
    jest.useFakeTimers();
    try {
      const q = new WaiterQueue<string>();
      const fired: string[] = [];
      const controller = new AbortController();
      const w = waiter(1, []);
      w.timer = setTimeout(() => fired.push('timer'), 10);
      w.signal = controller.signal;
      w.onAbort = () => fired.push('abort');
      controller.signal.addEventListener('abort', w.onAbort);
      q.push(w);
      q.take();
      controller.abort();
      jest.advanceTimersByTime(10);
      expect(fired).toEqual([]);
    } finally {
      jest.useRealTimers();
    }
  });

  test('stays correct across many settled-in-place waiters (compaction)', () => {
    const q = new WaiterQueue<string>();
    const all = Array.from({ length: 5000 }, (_, i) => waiter(i, []));
    for (const w of all) q.push(w);
    for (let i = 0; i < 4990; i++) q.settle(all[i]!);
    const rest: number[] = [];
    for (let w; (w = q.take()); ) rest.push(w.enqueuedAt);
    expect(rest).toEqual([4990, 4991, 4992, 4993, 4994, 4995, 4996, 4997, 4998, 4999]);
  });
});
