import type { DriverConnection } from '../../lib';
import type { PooledConnection } from '../../lib/pool/pooled-connection';
import { Census, Slot, newConnectionId } from '../../lib/pool/slot';

// The transitions never touch the connection or the lease: stand-ins suffice.
const connection = {} as DriverConnection;
const lease = {} as PooledConnection;

function counts(census: Census) {
  return { size: census.size, idle: census.idle, leased: census.leased, validating: census.validating };
}

describe('Slot', () => {
  test('a new slot is counted as open, neither idle nor leased', () => {
    const census = new Census();
    const slot = new Slot(1, connection, census);
    expect(slot.state).toBe('opening');
    expect(counts(census)).toEqual({ size: 1, idle: 0, leased: 0, validating: 0 });
  });

  test('each transition moves the slot in the census', () => {
    const census = new Census();
    const slot = new Slot(1, connection, census);
    slot.rest(0);
    expect(counts(census)).toEqual({ size: 1, idle: 1, leased: 0, validating: 0 });
    slot.validate();
    expect(counts(census)).toEqual({ size: 1, idle: 0, leased: 0, validating: 1 });
    slot.rest(1);
    const checkout = slot.lend(lease, false, 2);
    expect(counts(census)).toEqual({ size: 1, idle: 0, leased: 1, validating: 0 });
    expect(slot.takeBack(checkout, 5)).toBe(true);
    expect(slot.state).toBe('returning');
    expect(counts(census)).toEqual({ size: 1, idle: 0, leased: 0, validating: 0 });
    slot.rest(5);
    expect(counts(census)).toEqual({ size: 1, idle: 1, leased: 0, validating: 0 });
    expect(slot.close()).toBe('idle');
    expect(counts(census)).toEqual({ size: 0, idle: 0, leased: 0, validating: 0 });
  });

  test('closing from any state leaves no count behind', () => {
    const census = new Census();
    const opening = new Slot(1, connection, census);
    const validating = new Slot(2, connection, census);
    validating.rest(0);
    validating.validate();
    const leased = new Slot(3, connection, census);
    leased.rest(0);
    leased.lend(lease, false, 0);
    const returning = new Slot(4, connection, census);
    returning.rest(0);
    returning.takeBack(returning.lend(lease, false, 0), 1);
    const idle = new Slot(5, connection, census);
    idle.rest(0);
    expect(counts(census)).toEqual({ size: 5, idle: 1, leased: 1, validating: 1 });
    for (const slot of [opening, validating, leased, returning, idle]) slot.close();
    expect(counts(census)).toEqual({ size: 0, idle: 0, leased: 0, validating: 0 });
    expect(census.slots()).toEqual([]);
  });

  test('closing twice reports the second as already closed', () => {
    const slot = new Slot(1, connection, new Census());
    expect(slot.close()).toBe('opening');
    expect(slot.close()).toBeUndefined();
  });

  test('a transition the state does not allow throws and changes nothing', () => {
    const census = new Census();
    const slot = new Slot(1, connection, census);
    expect(() => slot.lend(lease, false, 0)).toThrow(/cannot go from opening to leased/);
    expect(slot.state).toBe('opening');
    slot.close();
    expect(() => slot.rest(0)).toThrow(/cannot go from closed to idle/);
    expect(counts(census)).toEqual({ size: 0, idle: 0, leased: 0, validating: 0 });
  });

  test('only the lease out now can come back, once', () => {
    const slot = new Slot(1, connection, new Census());
    slot.rest(0);
    const first = slot.lend(lease, false, 0);
    expect(slot.takeBack(first, 1)).toBe(true);
    expect(slot.takeBack(first, 2)).toBe(false);
    slot.rest(2);
    const second = slot.lend(lease, false, 3);
    expect(slot.takeBack(first, 4)).toBe(false);
    expect(slot.takeBack(second, 7)).toBe(true);
    expect(slot.heldMs).toBe(4);
    expect(slot.uses).toBe(2);
  });

  test('every checkout ends exactly once', () => {
    const slot = new Slot(1, connection, new Census());
    expect(slot.endLease()).toBe(false);
    slot.rest(0);
    slot.lend(lease, false, 0);
    expect(slot.endLease()).toBe(true);
    expect(slot.endLease()).toBe(false);
  });

  test('the idle stack lends the most recently returned first and reaps from the bottom', () => {
    const census = new Census();
    const [a, b, c] = [1, 2, 3].map((id) => new Slot(id, connection, census)) as [Slot, Slot, Slot];
    a.rest(0);
    b.rest(1);
    c.rest(2);
    expect(census.lastIdle()).toBe(c);
    expect(census.firstIdle()).toBe(a);
    b.close();
    expect(census.idleSlots()).toEqual([a, c]);
  });

  test('info() is the public view events carry', () => {
    const slot = new Slot(7, connection, new Census());
    expect(slot.info()).toEqual({ connectionId: 7, createdAt: expect.any(Number), uses: 0 });
  });

  test('only the lease out now tells the owner it ended, with its checkout number', () => {
    const ended: Array<[number, number]> = [];
    const owner = { checkin: (slot: Slot, checkout: number) => void ended.push([slot.id, checkout]), resource: () => undefined as never };
    const slot = new Slot(4, connection, new Census(), owner);
    const [earlier, current] = [{} as PooledConnection, {} as PooledConnection];
    slot.rest(0);
    slot.takeBack(slot.lend(earlier, false, 0), 1);
    slot.rest(1);
    slot.lend(current, false, 2);
    slot.leaseEnded(earlier, { destroy: false });
    expect(ended).toEqual([]);
    slot.leaseEnded(current, { destroy: false });
    expect(ended).toEqual([[4, 2]]);
  });

  test('a lease held weakly is recognised as the lease out', () => {
    const ended: number[] = [];
    const owner = { checkin: (_slot: Slot, checkout: number) => void ended.push(checkout), resource: () => undefined as never };
    const slot = new Slot(5, connection, new Census(), owner);
    const held = {} as PooledConnection;
    slot.rest(0);
    slot.lend(held, true, 0);
    slot.leaseEnded(held, { destroy: false });
    expect(ended).toEqual([1]);
  });

  test('the checkout and checkin payloads are the public view with the wait or the hold', () => {
    const slot = new Slot(8, connection, new Census());
    slot.rest(0);
    slot.lend(lease, false, 10);
    expect(slot.checkoutEvent(3)).toEqual({ ...slot.info(), waitedMs: 3 });
    slot.takeBack(1, 15);
    expect(slot.checkinEvent()).toEqual({ ...slot.info(), heldMs: 5 });
  });

  test('connection ids only grow', () => {
    const first = newConnectionId();
    expect(newConnectionId()).toBeGreaterThan(first);
  });
});
