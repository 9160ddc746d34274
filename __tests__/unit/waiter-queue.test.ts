import { WaiterQueue, type Waiter } from '../../lib/pool/waiters';

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

  describe('wait()', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    const reasons = { timedOut: () => new Error('timed out'), aborted: () => new Error('aborted') };

    test('a waiter handed a value resolves with it, and its timer and signal no longer act', async () => {
      const q = new WaiterQueue<string>();
      const controller = new AbortController();
      const timedOut = jest.fn(reasons.timedOut);
      const aborted = jest.fn(reasons.aborted);
      const waiting = q.wait({ enqueuedAt: 0, timeoutMs: 10, signal: controller.signal, timedOut, aborted });
      q.take()!.resolve('conn');
      controller.abort();
      jest.advanceTimersByTime(10);
      await expect(waiting).resolves.toBe('conn');
      expect(timedOut).not.toHaveBeenCalled();
      expect(aborted).not.toHaveBeenCalled();
    });

    test('a waiter that times out is rejected once, leaves the line, and ignores its signal after', async () => {
      const q = new WaiterQueue<string>();
      const controller = new AbortController();
      const aborted = jest.fn(reasons.aborted);
      const waiting = q.wait({ enqueuedAt: 0, timeoutMs: 10, signal: controller.signal, ...reasons, aborted });
      jest.advanceTimersByTime(10);
      controller.abort();
      await expect(waiting).rejects.toThrow('timed out');
      expect(aborted).not.toHaveBeenCalled();
      expect(q.size).toBe(0);
      expect(q.take()).toBeUndefined();
    });

    test('a waiter whose signal aborts is rejected once, leaves the line, and its timer never fires', async () => {
      const q = new WaiterQueue<string>();
      const controller = new AbortController();
      const timedOut = jest.fn(reasons.timedOut);
      const waiting = q.wait({ enqueuedAt: 0, timeoutMs: 10, signal: controller.signal, ...reasons, timedOut });
      controller.abort('stop');
      jest.advanceTimersByTime(10);
      await expect(waiting).rejects.toThrow('aborted');
      expect(timedOut).not.toHaveBeenCalled();
      expect(q.size).toBe(0);
      expect(jest.getTimerCount()).toBe(0);
    });

    test('the rejection reason is built only after the waiter left the line', async () => {
      const q = new WaiterQueue<string>();
      const sizes: number[] = [];
      const waiting = q.wait({
        enqueuedAt: 0,
        timeoutMs: 10,
        signal: undefined,
        timedOut: () => (sizes.push(q.size), new Error('timed out')),
        aborted: reasons.aborted,
      });
      jest.advanceTimersByTime(10);
      await expect(waiting).rejects.toThrow();
      expect(sizes).toEqual([0]);
    });

    test('an infinite timeout arms no timer', () => {
      const q = new WaiterQueue<string>();
      void q.wait({ enqueuedAt: 0, timeoutMs: Infinity, signal: undefined, ...reasons });
      expect(jest.getTimerCount()).toBe(0);
      q.take()!.resolve('conn');
    });

    test('rejectAll rejects every live waiter in order, each with its own error', async () => {
      const q = new WaiterQueue<string>();
      const a = q.wait({ enqueuedAt: 0, timeoutMs: 10, signal: undefined, ...reasons });
      const b = q.wait({ enqueuedAt: 1, timeoutMs: 10, signal: undefined, ...reasons });
      let n = 0;
      q.rejectAll(() => new Error(`closed ${++n}`));
      await expect(a).rejects.toThrow('closed 1');
      await expect(b).rejects.toThrow('closed 2');
      expect(q.size).toBe(0);
      expect(jest.getTimerCount()).toBe(0);
    });
  });
});
