import { ConnectBackoff } from '../../lib/pool/connect-backoff';
import { BackpressureLimit, connectStillWanted, reapIdle, type ConnectCheck } from '../../lib/pool/sizing';

// The rule reads no clock: every call passes `now`, so these run on explicit
// timelines, no timers at all.

describe('connectStillWanted: a queued connect starts only if someone still needs it', () => {
  const base: ConnectCheck = { purpose: 'waiter', waiting: 1, connecting: 0, size: 2, min: 1, cap: 10 };

  test('starts for a waiter no connect in flight covers', () => {
    expect(connectStillWanted(base)).toBe(true);
    expect(connectStillWanted({ ...base, waiting: 3, connecting: 2 })).toBe(true);
  });

  test('does not start once its waiter was served meanwhile', () => {
    expect(connectStillWanted({ ...base, waiting: 0 })).toBe(false);
    expect(connectStillWanted({ ...base, waiting: 2, connecting: 2 })).toBe(false);
  });

  test('never passes the effective maximum', () => {
    expect(connectStillWanted({ ...base, waiting: 5, size: 9, connecting: 1 })).toBe(false);
  });

  test('a connect for min starts only while below min', () => {
    expect(connectStillWanted({ ...base, purpose: 'min', waiting: 0, size: 1, min: 2 })).toBe(true);
    expect(connectStillWanted({ ...base, purpose: 'min', waiting: 0, size: 1, min: 2, connecting: 1 })).toBe(false);
  });

  test('a replacement and the warm-up connect always start', () => {
    expect(connectStillWanted({ ...base, purpose: 'replace', waiting: 0, size: 10 })).toBe(true);
    expect(connectStillWanted({ ...base, purpose: 'warmUp', waiting: 0, size: 0, min: 0 })).toBe(true);
  });
});

describe('reapIdle: a connection unused for idleTimeoutMs closes, down to min', () => {
  test('closes the expired ones, longest idle first, and wakes for the next expiry', () => {
    expect(reapIdle([0, 100, 500], 3, 0, 1_000, 1_100)).toEqual({ close: 2, wakeAt: 1_500 });
  });

  test('stops at min, and asks for no wake-up when what is left is at min', () => {
    expect(reapIdle([0, 100, 500], 3, 2, 1_000, 5_000)).toEqual({ close: 1, wakeAt: undefined });
    expect(reapIdle([0], 1, 1, 1_000, 5_000)).toEqual({ close: 0, wakeAt: undefined });
  });

  test('min 0 closes every idle connection', () => {
    expect(reapIdle([0, 10], 2, 0, 1_000, 1_010)).toEqual({ close: 2, wakeAt: undefined });
  });

  test('leased connections count towards min but are never closed', () => {
    // size 4 with 2 idle: both may close, min 1 is kept by the leases.
    expect(reapIdle([0, 10], 4, 1, 1_000, 2_000)).toEqual({ close: 2, wakeAt: undefined });
  });

  test('a wake-up a fraction of a millisecond early still closes (no re-arm for the rest)', () => {
    expect(reapIdle([0], 2, 1, 1_000, 999.5)).toEqual({ close: 1, wakeAt: undefined });
  });

  test('Infinity never closes and never wakes', () => {
    expect(reapIdle([0], 2, 0, Infinity, 1e12)).toEqual({ close: 0, wakeAt: undefined });
  });
});

describe('BackpressureLimit: halves once per episode, doubles back per quiet interval', () => {
  const make = () => new BackpressureLimit({ max: 8, floor: 1, intervalMs: 1_000 });

  test('many signals in one episode halve once', () => {
    const limit = make();
    expect(limit.signal(0)).toEqual([{ from: 8, to: 4, reason: 'backpressure' }]);
    for (let t = 1; t < 900; t += 100) expect(limit.signal(t)).toEqual([]);
    expect(limit.at(900)).toBe(4);
  });

  test('pressure that lasts past an episode halves again, never below the floor', () => {
    const limit = new BackpressureLimit({ max: 8, floor: 2, intervalMs: 1_000 });
    expect(limit.signal(0)).toEqual([{ from: 8, to: 4, reason: 'backpressure' }]);
    expect(limit.signal(500)).toEqual([]);
    // An interval after the halving, and no quiet interval since the last signal: a new episode.
    expect(limit.signal(1_000)).toEqual([{ from: 4, to: 2, reason: 'backpressure' }]);
    expect(limit.signal(1_900)).toEqual([]);
    expect(limit.at(2_899)).toBe(2);
    expect(limit.at(2_900)).toBe(4);
    expect(limit.at(3_900)).toBe(8);
  });

  test('signals spaced by a quiet interval recover first, then halve: one halving per episode', () => {
    const limit = make();
    limit.signal(0);
    expect(limit.signal(1_000)).toEqual([
      { from: 4, to: 8, reason: 'recovery' },
      { from: 8, to: 4, reason: 'backpressure' },
    ]);
  });

  test('recovers from elapsed quiet time alone, doubling per interval, and reports each change once', () => {
    const limit = make();
    limit.signal(0);
    limit.signal(50); // same episode: restarts the quiet time
    expect(limit.at(1_049)).toBe(4);
    expect(limit.at(1_050)).toBe(8);
    // Looked at only after three seconds: one change reported, straight to max.
    expect(limit.refresh(3_000)).toEqual({ from: 4, to: 8, reason: 'recovery' });
    expect(limit.refresh(4_000)).toBeUndefined();
    expect(limit.lowered).toBe(false);
  });

  test('a long silence does not overflow', () => {
    const limit = make();
    limit.signal(0);
    expect(limit.at(1e9)).toBe(8);
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
