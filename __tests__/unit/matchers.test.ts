import { PoolError } from '../../lib';

// The suite's own matcher (support/matchers.ts): it must fail whenever the
// class or the code is wrong, or it would hide the very bugs it is for.

describe('toBePoolError', () => {
  const closed = new PoolError('POOL_CLOSED', 'The pool is closed', { cause: new Error('why') });

  test('passes on a PoolError with that code', () => {
    expect(closed).toBePoolError('POOL_CLOSED');
    expect(closed).not.toBePoolError('ACQUIRE_TIMEOUT');
  });

  test('fails on a plain Error carrying the same code, saying it is not a PoolError', () => {
    const impostor = Object.assign(new Error('The pool is closed'), { code: 'POOL_CLOSED' });
    expect(() => expect(impostor).toBePoolError('POOL_CLOSED')).toThrow(
      /expected a PoolError with code "POOL_CLOSED"\s+received Error \(not a PoolError\) with code "POOL_CLOSED"/,
    );
    expect(impostor).not.toBePoolError('POOL_CLOSED');
  });

  test('fails on another code, naming both', () => {
    expect(() => expect(closed).toBePoolError('LEASE_RELEASED')).toThrow(
      /expected a PoolError with code "LEASE_RELEASED"\s+received PoolError with code "POOL_CLOSED": The pool is closed/,
    );
  });

  test('fails on values that are not errors', () => {
    expect(() => expect(undefined).toBePoolError('POOL_CLOSED')).toThrow(/received undefined/);
    expect(() => expect({ code: 'POOL_CLOSED' }).toBePoolError('POOL_CLOSED')).toThrow(/non-error object/);
  });

  test('matches further properties as toMatchObject does', () => {
    expect(closed).toBePoolError('POOL_CLOSED', { cause: { message: 'why' } });
    expect(() => expect(closed).toBePoolError('POOL_CLOSED', { cause: { message: 'other' } })).toThrow(
      /the code matches but the properties do not/,
    );
  });

  test('checks what a function throws, and fails when it returns', () => {
    expect(() => {
      throw closed;
    }).toBePoolError('POOL_CLOSED');
    expect(() => expect(() => 1).toBePoolError('POOL_CLOSED')).toThrow(/but it returned/);
  });

  test('checks what a promise rejected with', async () => {
    await expect(Promise.reject(closed)).rejects.toBePoolError('POOL_CLOSED');
    await expect(expect(Promise.reject(new Error('no'))).rejects.toBePoolError('POOL_CLOSED')).rejects.toThrow(
      /received Error \(not a PoolError\): no/,
    );
  });
});
