import { ConnectBackoff } from '../lib/connect-backoff';
import { SizeController, type SizeControllerOptions } from '../lib/size-controller';

// The controller reads no clock: every call passes `now`, so these run on
// explicit timelines, no timers at all.
const options: SizeControllerOptions = { min: 1, max: 10, dwellMs: 2_000, windowMs: 1_000, recoveryMs: 1_000 };

/** Feeds a constant demand from `from` to `to` (ms), sampling every 100 ms, and updates each second. */
function steady(c: SizeController, demand: number, from: number, to: number) {
  const changes = [];
  for (let t = from; t < to; t += 100) {
    c.observeDemand(t, demand);
    if (t % 1_000 === 0) {
      const change = c.update(t, demand);
      if (change !== undefined) changes.push({ at: t, ...change });
    }
  }
  return changes;
}

describe('SizeController', () => {
  test('starts at min with the full maximum', () => {
    const c = new SizeController(options);
    expect([c.target, c.effectiveMax]).toEqual([1, 10]);
  });

  test('grows the target to the peak demand of a load', () => {
    const c = new SizeController(options);
    steady(c, 4, 0, 10_000);
    expect(c.target).toBe(4);
    expect(c.demand).toBeCloseTo(4, 1);
  });

  test('a steady load does not oscillate: one change up, then none', () => {
    const c = new SizeController(options);
    const changes = steady(c, 3, 0, 60_000);
    expect(changes.map(({ from, to }) => [from, to])).toEqual([[1, 3]]);
  });

  test('a load alternating between 3 and 4 within each window keeps one target', () => {
    const c = new SizeController(options);
    const changes = [];
    for (let t = 0; t < 60_000; t += 100) {
      c.observeDemand(t, t % 500 < 250 ? 3 : 4);
      if (t % 1_000 === 0) {
        const change = c.update(t, 3);
        if (change !== undefined) changes.push(change);
      }
    }
    expect(changes.length).toBeLessThanOrEqual(2);
    expect(c.target).toBe(4);
  });

  test('shrinks when demand falls, one connection per dwell, never below min', () => {
    const c = new SizeController(options);
    steady(c, 6, 0, 10_000);
    expect(c.target).toBe(6);
    const down = steady(c, 0, 10_000, 40_000);
    expect(down.every(({ to, from }) => from - to === 1)).toBe(true);
    for (let i = 1; i < down.length; i++) expect(down[i]!.at - down[i - 1]!.at).toBeGreaterThanOrEqual(2_000);
    expect(c.target).toBe(1);
  });

  test('a short burst weighs its duration: 50 callers served within 20 ms do not keep 50 connections warm', () => {
    const c = new SizeController(options);
    steady(c, 5, 0, 10_000);
    expect(c.target).toBe(5);
    c.observeDemand(10_100, 55); // the burst
    c.observeDemand(10_120, 5); // served by releases
    const changes = steady(c, 5, 10_200, 20_000);
    expect(Math.max(c.target, ...changes.map((change) => change.to))).toBeLessThanOrEqual(6);
  });

  test('a lease held as long as a connect takes is not counted on, even if the usual hold is short', () => {
    const c = new SizeController(options);
    c.recordConnect(150);
    c.recordHold(2);
    // Held 6 ms, three times the usual 2 ms (a stalled event loop): still expected back soon.
    expect(c.shouldCreate(1, [6, 6, 6, 6, 6])).toBe(false);
    expect(c.connectionsToOpen(50, [6, 6, 6, 6, 6])).toBe(0);
    // Held longer than a connect: overdue.
    expect(c.connectionsToOpen(50, [200, 200, 200, 200, 200])).toBe(50);
  });

  test('connectionsToOpen counts the waiters releases would not serve before a connect', () => {
    const c = new SizeController(options);
    c.recordConnect(10);
    c.recordHold(4);
    // 2 leases, each back in ~2 ms then every 4 ms: waiter k waits 2 + floor((k-1)/2) × 4 ms;
    // from k = 5 on (2 + 2 × 4 = 10 ms) a connect is as quick.
    expect(c.connectionsToOpen(4, [2, 2])).toBe(0);
    expect(c.connectionsToOpen(10, [2, 2])).toBe(6);
    expect([1, 4, 5, 10].map((k) => c.shouldCreate(k, [2, 2]))).toEqual([false, false, true, true]);
  });

  test('changes at most once per dwell time', () => {
    const c = new SizeController(options);
    c.observeDemand(0, 2);
    expect(c.update(1_000, 2)).toMatchObject({ from: 1, to: 2, reason: 'demand' });
    c.observeDemand(1_100, 8);
    expect(c.update(2_000, 8)).toBeUndefined();
    expect(c.update(3_000, 8)).toMatchObject({ from: 2, reason: 'demand' });
  });

  test('back-pressure halves the effective maximum at once and cuts the target to it', () => {
    const c = new SizeController(options);
    steady(c, 8, 0, 10_000);
    expect(c.target).toBe(8);
    expect(c.backpressure(10_050)).toEqual({ from: 8, to: 5, reason: 'backpressure' });
    expect(c.effectiveMax).toBe(5);
    c.backpressure(10_060);
    expect(c.effectiveMax).toBe(2);
    c.backpressure(10_070);
    expect(c.effectiveMax).toBe(1); // never below max(min, 1)
  });

  test('after back-pressure the maximum recovers by one per quiet second, and the target follows demand back up', () => {
    const c = new SizeController(options);
    steady(c, 8, 0, 10_000);
    c.backpressure(10_000);
    c.backpressure(10_000);
    expect(c.effectiveMax).toBe(2);
    const changes = steady(c, 8, 10_100, 30_000);
    expect(c.effectiveMax).toBe(10);
    expect(c.target).toBe(8);
    expect(changes.some((change) => change.reason === 'recovery')).toBe(true);
  });

  test('measures connect and hold times as moving averages', () => {
    const c = new SizeController(options);
    expect([c.connectMs, c.holdMs]).toEqual([undefined, undefined]);
    c.recordConnect(100);
    c.recordConnect(200);
    c.recordHold(10);
    expect(c.connectMs).toBeCloseTo(130);
    expect(c.holdMs).toBe(10);
  });

  describe('creation elision', () => {
    test('creates while nothing is measured yet', () => {
      expect(new SizeController(options).shouldCreate(1, [0, 0])).toBe(true);
    });

    test('skips a connect when a lease is due back sooner than a connect takes', () => {
      const c = new SizeController(options);
      c.recordConnect(150);
      c.recordHold(2);
      // Leases held 1 ms of their usual 2: each is back in about 1 ms, and
      // then serves another waiter every 2 ms.
      expect(c.shouldCreate(1, [1, 1, 1])).toBe(false);
      expect(c.shouldCreate(4, [1, 1, 1])).toBe(false); // second round: ~3 ms
      // The 220th waiter would wait 1 + 73 × 2 = 147 ms; the 223rd, 149 ms; the 226th, 151 ms.
      expect(c.shouldCreate(223, [1, 1, 1])).toBe(false);
      expect(c.shouldCreate(226, [1, 1, 1])).toBe(true);
    });

    test('does not count on an overdue lease', () => {
      const c = new SizeController(options);
      c.recordConnect(150);
      c.recordHold(2);
      expect(c.shouldCreate(1, [500])).toBe(true);
      expect(c.shouldCreate(1, [500, 1])).toBe(false);
    });

    test('creates when releases are expected later than a connect', () => {
      const c = new SizeController(options);
      c.recordConnect(5);
      c.recordHold(100);
      expect(c.shouldCreate(1, [10])).toBe(true);
    });
  });
});

describe('ConnectBackoff', () => {
  const make = (threshold = 3) => new ConnectBackoff({ baseMs: 100, maxMs: 1_000, threshold, random: () => 1 - 1e-9 });

  test('doubles the delay after each failure, up to the maximum, with jitter in [half, full]', () => {
    const b = make(10);
    expect([1, 2, 3, 4, 5].map((i) => Math.round(b.failure(i, new Error('x'))))).toEqual([100, 200, 400, 800, 1000]);
    const jittered = new ConnectBackoff({ baseMs: 100, maxMs: 1_000, threshold: 10, random: () => 0 });
    expect(jittered.failure(0, new Error('x'))).toBe(50);
  });

  test('refuses connects until the delay has passed', () => {
    const b = make();
    b.failure(0, new Error('x'));
    expect(b.mayConnect(50, 0)).toBe(false);
    expect(b.mayConnect(100, 0)).toBe(true);
  });

  test('opens after the threshold, then lets one probe through half-open', () => {
    const b = make(3);
    let t = 0;
    for (let i = 0; i < 3; i++) t += b.failure(t, new Error(`fail ${i}`));
    expect(b.state).toBe('open');
    expect(b.lastError).toEqual(new Error('fail 2'));
    expect(b.mayConnect(t - 1, 0)).toBe(false);
    expect(b.mayConnect(t, 0)).toBe(true);
    expect(b.state).toBe('halfOpen');
    expect(b.mayConnect(t, 1)).toBe(false); // one probe at a time
  });

  test('a failed probe reopens it with a longer delay; a successful one closes it', () => {
    const b = make(2);
    const d1 = b.failure(0, new Error('a'));
    const d2 = b.failure(d1, new Error('b'));
    b.mayConnect(d1 + d2, 0);
    const d3 = b.failure(d1 + d2, new Error('probe failed'));
    expect(b.state).toBe('open');
    expect(d3).toBeGreaterThan(d2);
    b.mayConnect(d1 + d2 + d3, 0);
    expect(b.success()).toBe('halfOpen');
    expect([b.state, b.failures, b.lastError]).toEqual(['closed', 0, undefined]);
  });
});
