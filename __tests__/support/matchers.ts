import { PoolError, type PoolErrorCode } from '../../lib/errors';

/*
 * `expect(x).toBePoolError(code, properties?)`: `x` is a `PoolError` (the class
 * of lib/errors, not just an error with a matching `code`), its `code` is
 * `code`, and, when given, it matches `properties` as `toMatchObject` would
 * (`{ cause: … }`, say). With `.rejects` it checks what a promise rejected
 * with; given a function, it calls it and checks what it threw, as `toThrow`
 * does. Registered by setup.ts.
 */

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace jest {
    interface Matchers<R> {
      /** A `PoolError` with this `code` (and, when given, these properties, as `toMatchObject` matches them). */
      toBePoolError(code: PoolErrorCode, properties?: Record<string, unknown>): R;
    }
  }
}

function describeValue(value: unknown): string {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    const kind = value instanceof PoolError ? 'PoolError' : `${value.constructor.name} (not a PoolError)`;
    return `${kind}${code === undefined ? '' : ` with code ${JSON.stringify(code)}`}: ${value.message}`;
  }
  return `${typeof value === 'object' && value !== null ? 'a non-error object' : typeof value} ${String(value)}`;
}

export function toBePoolError(
  this: jest.MatcherContext,
  received: unknown,
  code: PoolErrorCode,
  properties?: Record<string, unknown>,
): jest.CustomMatcherResult {
  const wanted = `a PoolError with code ${JSON.stringify(code)}${properties === undefined ? '' : ' and the given properties'}`;
  let actual = received;
  if (typeof received === 'function' && !this.promise) {
    try {
      (received as () => unknown)();
      return { pass: false, message: () => `expected the function to throw ${wanted}, but it returned` };
    } catch (error) {
      actual = error;
    }
  }
  if (!(actual instanceof PoolError) || actual.code !== code) {
    return { pass: false, message: () => `expected ${wanted}\nreceived ${describeValue(actual)}` };
  }
  if (properties !== undefined) {
    try {
      expect(actual).toMatchObject(properties);
    } catch (mismatch) {
      return {
        pass: false,
        message: () => `expected ${wanted}; the code matches but the properties do not:\n${(mismatch as Error).message}`,
      };
    }
  }
  return { pass: true, message: () => `expected not ${wanted}\nreceived ${describeValue(actual)}` };
}

expect.extend({ toBePoolError });
