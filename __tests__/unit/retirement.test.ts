import type { DriverConnection } from '../../lib';
import type { PooledConnection } from '../../lib/pool/pooled-connection';
import { Maintenance, closeAtCheckin, type Checkin } from '../../lib/pool/maintenance';
import type { PoolCounts } from '../../lib/pool/sizing';
import { Census, Slot } from '../../lib/pool/slot';

// The decisions read the slot and the counts they are shown: no pool, no clock.

const lease = {} as PooledConnection;

function slotIn(state: 'idle' | 'leased', connection = { brokenBy: undefined } as unknown as DriverConnection) {
  const slot = new Slot(1, connection, new Census());
  slot.rest(0);
  if (state === 'leased') slot.lend(lease, false, 0);
  return slot;
}

describe('closeAtCheckin: what closes a connection back from a lease', () => {
  const back: Checkin = { how: { destroy: false }, failure: undefined, closing: false, maxUses: 10, size: 1, cap: 4 };

  test('a healthy connection under every limit is kept', () => {
    expect(closeAtCheckin(slotIn('leased'), back)).toBeUndefined();
  });

  test('a destroyed lease closes it, for the reset failure if there was one, with its error', () => {
    const error = new Error('boom');
    expect(closeAtCheckin(slotIn('leased'), { ...back, how: { destroy: true, error } })).toEqual({
      reason: 'destroyed',
      error,
    });
    expect(closeAtCheckin(slotIn('leased'), { ...back, how: { destroy: true, error }, failure: 'error' })).toEqual({
      reason: 'error',
      error,
    });
  });

  test('a closing pool closes it', () => {
    expect(closeAtCheckin(slotIn('leased'), { ...back, closing: true })).toEqual({ reason: 'poolClosed' });
  });

  test('a broken connection closes with what broke it', () => {
    const cause = new Error('socket closed');
    const slot = slotIn('leased', { brokenBy: cause } as unknown as DriverConnection);
    expect(closeAtCheckin(slot, back)).toEqual({ reason: 'error', error: cause });
  });

  test('one used maxUses times closes', () => {
    expect(closeAtCheckin(slotIn('leased'), { ...back, maxUses: 1 })).toEqual({ reason: 'maxUses' });
  });

  test('one marked to retire at checkin closes for its lifetime', () => {
    const slot = slotIn('leased');
    slot.expiry = 'retireAtCheckin';
    expect(closeAtCheckin(slot, back)).toEqual({ reason: 'lifetime' });
  });

  test('above a lowered maximum it closes to shrink the pool', () => {
    expect(closeAtCheckin(slotIn('leased'), { ...back, size: 3, cap: 2 })).toEqual({ reason: 'shrink' });
  });

  test('the first reason that applies wins', () => {
    const slot = slotIn('leased');
    slot.expiry = 'retireAtCheckin';
    expect(closeAtCheckin(slot, { ...back, closing: true, maxUses: 1, size: 9, cap: 1 })).toEqual({
      reason: 'poolClosed',
    });
  });
});

describe('Maintenance: expired connections', () => {
  const counts: PoolCounts = { size: 1, leased: 0, validating: 0, waiting: 0, creating: 0, connecting: 0, min: 1, cap: 4 };

  function maintenance() {
    return new Maintenance({
      maxLifetimeMs: 1000,
      lifetimeJitter: 0,
      idleTimeoutMs: Infinity,
      min: 1,
      validateAfterIdleMs: Infinity,
      validateTimeoutMs: 1000,
      random: () => 0,
      slots: new Census(),
      onExpired: () => undefined,
      retire: () => undefined,
      validated: () => undefined,
    });
  }

  afterEach(() => {
    jest.useRealTimers();
  });

  /** A slot past its lifetime, as the lifetime timer leaves it. */
  async function expire(m: Maintenance, slot: Slot) {
    m.born(slot);
    await jest.advanceTimersByTimeAsync(1000);
  }

  test('one the pool still needs is replaced while it keeps serving', async () => {
    jest.useFakeTimers();
    const m = maintenance();
    const slot = slotIn('idle');
    await expire(m, slot);
    const steps: string[] = [];
    m.settleExpired(
      () => counts,
      (_, step) => steps.push(step),
    );
    expect(steps).toEqual(['replace']);
    expect(slot.expiry).toBe('replacing');
  });

  test('one the pool does not need is retired at once when idle', async () => {
    jest.useFakeTimers();
    const m = maintenance();
    const slot = slotIn('idle');
    await expire(m, slot);
    const steps: string[] = [];
    m.settleExpired(
      () => ({ ...counts, size: 2 }),
      (_, step) => steps.push(step),
    );
    expect(steps).toEqual(['retire']);
  });

  test('one the pool does not need is marked to retire at checkin when leased', async () => {
    jest.useFakeTimers();
    const m = maintenance();
    const slot = slotIn('leased');
    await expire(m, slot);
    const apply = jest.fn();
    m.settleExpired(() => ({ ...counts, size: 2, leased: 1, min: 0 }), apply);
    expect(apply).not.toHaveBeenCalled();
    expect(slot.expiry).toBe('retireAtCheckin');
  });

  test('one whose replacement is already opening is left alone', async () => {
    jest.useFakeTimers();
    const m = maintenance();
    const slot = slotIn('idle');
    await expire(m, slot);
    slot.expiry = 'replacing';
    const apply = jest.fn();
    m.settleExpired(() => counts, apply);
    expect(apply).not.toHaveBeenCalled();
  });

  test('once replaced, an idle one goes now and a leased one at checkin', () => {
    const m = maintenance();
    expect(m.replaced(slotIn('idle'))).toBe(true);
    const leased = slotIn('leased');
    expect(m.replaced(leased)).toBe(false);
    expect(leased.expiry).toBe('retireAtCheckin');
  });
});

describe('Maintenance: the idle connection to lend', () => {
  function maintenance(slots: Census, retired: string[]) {
    return new Maintenance({
      maxLifetimeMs: Infinity,
      lifetimeJitter: 0,
      idleTimeoutMs: Infinity,
      min: 0,
      validateAfterIdleMs: Infinity,
      validateTimeoutMs: 1000,
      random: () => 0,
      slots,
      onExpired: () => undefined,
      retire: (slot, reason) => {
        retired.push(`${slot.id} ${reason}`);
        slot.close();
      },
      validated: () => undefined,
    });
  }

  test('is the one returned most recently', () => {
    const slots = new Census();
    const [older, newer] = [new Slot(1, live(), slots), new Slot(2, live(), slots)];
    older.rest(0);
    newer.rest(1);
    expect(maintenance(slots, []).takeIdle(0)).toBe(newer);
  });

  test('one that died while idle is retired on the way, never lent', () => {
    const slots = new Census();
    const alive = new Slot(1, live(), slots);
    const dead = new Slot(2, { brokenBy: new Error('socket closed') } as unknown as DriverConnection, slots);
    alive.rest(0);
    dead.rest(1);
    const retired: string[] = [];
    expect(maintenance(slots, retired).takeIdle(0)).toBe(alive);
    expect(retired).toEqual(['2 error']);
  });

  test('none when every idle one is dead', () => {
    const slots = new Census();
    new Slot(1, { brokenBy: new Error('gone') } as unknown as DriverConnection, slots).rest(0);
    expect(maintenance(slots, []).takeIdle(0)).toBeUndefined();
  });
});

function live(): DriverConnection {
  return { brokenBy: undefined } as unknown as DriverConnection;
}
