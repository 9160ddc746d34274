import { refuseRequest, refuseWaiter, type Line } from '../../lib/pool/admission';

// Admission is decided from what the pool shows it: no pool, no clock.

describe('refuseRequest: a call that cannot be served as asked is refused before anything is taken', () => {
  const ok = { closed: false, signal: undefined, timeoutMs: 1000 };

  test('admits a call with a timeout >= 0, Infinity included', () => {
    expect(refuseRequest(ok)).toBeUndefined();
    expect(refuseRequest({ ...ok, timeoutMs: 0 })).toBeUndefined();
    expect(refuseRequest({ ...ok, timeoutMs: Infinity })).toBeUndefined();
  });

  test('a closing pool refuses with POOL_CLOSED, counted nowhere', () => {
    const refusal = refuseRequest({ ...ok, closed: true, signal: AbortSignal.abort() });
    expect(refusal?.error).toBePoolError('POOL_CLOSED');
    expect(refusal?.counts).toBeUndefined();
  });

  test('an already-aborted signal refuses with ACQUIRE_ABORTED, counted as aborted', () => {
    const refusal = refuseRequest({ ...ok, signal: AbortSignal.abort(), timeoutMs: -1 });
    expect(refusal?.error).toBePoolError('ACQUIRE_ABORTED');
    expect(refusal?.counts).toBe('aborted');
  });

  test.each([-1, Number.NaN, '10', undefined])('a timeout of %p refuses with INVALID_ARGUMENT', (timeoutMs) => {
    const refusal = refuseRequest({ ...ok, timeoutMs });
    expect(refusal?.error).toBePoolError('INVALID_ARGUMENT');
    expect(refusal?.counts).toBeUndefined();
  });
});

describe('refuseWaiter: a caller that would wait for nothing is refused at once', () => {
  const line: Line = {
    size: 2,
    validating: 0,
    waiting: 0,
    cap: 2,
    breakerOpen: false,
    maxWaiters: 1,
    url: 'file:test.db',
    lastError: undefined,
  };

  test('admits a caller while the line is shorter than maxWaiters', () => {
    expect(refuseWaiter(line)).toBeUndefined();
  });

  test('with the breaker open and nothing open, refuses with CONNECT_FAILED carrying the cause', () => {
    const cause = new Error('refused');
    const refusal = refuseWaiter({ ...line, size: 0, breakerOpen: true, lastError: cause });
    expect(refusal?.error).toBePoolError('CONNECT_FAILED');
    expect((refusal?.error as Error).cause).toBe(cause);
  });

  test('with the breaker open, a caller still waits for a connection that can come back', () => {
    expect(refuseWaiter({ ...line, breakerOpen: true })).toBeUndefined();
  });

  test('a full line refuses with POOL_EXHAUSTED, counted as exhausted', () => {
    const refusal = refuseWaiter({ ...line, waiting: 1 });
    expect(refusal?.error).toBePoolError('POOL_EXHAUSTED');
    expect(refusal?.counts).toBe('exhausted');
  });

  test('callers the pool can still open a connection for do not count towards maxWaiters', () => {
    expect(refuseWaiter({ ...line, size: 1, waiting: 1 })).toBeUndefined();
    expect(refuseWaiter({ ...line, size: 1, waiting: 2 })).toBeDefined();
  });

  test('callers a connection being validated will serve do not count towards maxWaiters', () => {
    expect(refuseWaiter({ ...line, validating: 1, waiting: 1 })).toBeUndefined();
  });
});
