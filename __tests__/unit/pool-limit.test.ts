import { connectsToStart, needed, poolLimit, targetSize } from '../../lib/pool/sizing';

// The limit reads no clock: every call passes `now`.

const settings = { min: 1, max: 8, idleTimeoutMs: 30_000, busyTimeoutMs: 5_000 };

describe('poolLimit: the effective maximum of a pool', () => {
  test('is max, no more than the database allows', () => {
    expect(poolLimit(settings, Infinity).max).toBe(8);
    expect(poolLimit(settings, 1).max).toBe(1);
  });

  test('is not lowered until back-pressure is signalled', () => {
    const limit = poolLimit(settings, Infinity);
    expect(limit.lowered).toBe(false);
    expect(limit.at(1e9)).toBe(8);
  });

  /** Signals `every` ms from 0 to `until`, pressure that never lets up; returns the limit at `until`. */
  function sustained(limit: ReturnType<typeof poolLimit>, every: number, until: number): number {
    for (let t = 0; t <= until; t += every) limit.signal(t);
    return limit.at(until);
  }

  test('an episode lasts one busy timeout: sustained pressure halves once per busy timeout', () => {
    expect(sustained(poolLimit(settings, Infinity), 2_500, 4_999)).toBe(4);
    expect(sustained(poolLimit(settings, Infinity), 2_500, 5_000)).toBe(2);
  });

  test('an episode is capped by the idle timeout', () => {
    expect(sustained(poolLimit({ ...settings, idleTimeoutMs: 1_000 }, Infinity), 500, 1_000)).toBe(2);
  });

  test('with a busy timeout of 0, an episode is the idle timeout', () => {
    expect(sustained(poolLimit({ ...settings, busyTimeoutMs: 0 }, Infinity), 2_500, 29_999)).toBe(4);
    expect(sustained(poolLimit({ ...settings, busyTimeoutMs: 0 }, Infinity), 2_500, 30_000)).toBe(2);
  });

  test('is never halved below min, nor below 1', () => {
    expect(sustained(poolLimit({ ...settings, min: 3 }, Infinity), 2_500, 50_000)).toBe(3);
    expect(sustained(poolLimit({ ...settings, min: 0 }, Infinity), 2_500, 50_000)).toBe(1);
  });
});

describe('needed and targetSize: a connection per lease and waiter, at least min, within the maximum', () => {
  test('one connection per lease and waiter', () => {
    expect(needed({ leased: 2, waiting: 3, min: 0 })).toBe(5);
  });

  test('at least min', () => {
    expect(needed({ leased: 0, waiting: 0, min: 2 })).toBe(2);
  });

  test('the target stops at the effective maximum', () => {
    expect(targetSize({ leased: 4, waiting: 6, min: 0, cap: 8 })).toBe(8);
    expect(targetSize({ leased: 1, waiting: 0, min: 0, cap: 8 })).toBe(1);
  });
});

describe('connectsToStart: the connects the scheduler starts now', () => {
  const none = { size: 0, creating: 0, waiting: 0, min: 0, cap: 10 };

  test('one per waiter', () => {
    expect(connectsToStart({ ...none, waiting: 2 })).toEqual(['waiter', 'waiter']);
  });

  test('none for a waiter a connect on its way already covers', () => {
    expect(connectsToStart({ ...none, waiting: 2, creating: 1 })).toEqual(['waiter']);
    expect(connectsToStart({ ...none, waiting: 1, creating: 1 })).toEqual([]);
  });

  test('then enough to reach min, counting those opening', () => {
    expect(connectsToStart({ ...none, size: 1, waiting: 1, min: 3 })).toEqual(['waiter', 'min']);
  });

  test('never past the effective maximum', () => {
    expect(connectsToStart({ ...none, size: 2, waiting: 5, cap: 3 })).toEqual(['waiter']);
    expect(connectsToStart({ ...none, size: 2, min: 5, cap: 3 })).toEqual(['min']);
  });

  test('nothing when nobody waits and min is met', () => {
    expect(connectsToStart({ ...none, size: 2, min: 2 })).toEqual([]);
  });
});
