import { Buffer } from 'node:buffer';
import type { InArgs, InValue, IntMode } from '@libsql/client';
import { PoolError, describeValue } from '../errors';
import type { ParameterShape } from './sql-text';

const MIN_INT64 = -9223372036854775808n;
const MAX_INT64 = 9223372036854775807n;
const NO_ARGS: never[] = [];

/**
 * Converts `@libsql/client` arguments into what `libsql` binds safely, with the
 * client's own conversions and error messages for the values it handles, and
 * clear errors for the inputs on which `libsql` 0.5 aborts the process.
 *
 * Positional arguments are padded with NULLs up to the statement's parameter
 * count: a cached `libsql` statement silently reuses the previous call's
 * bindings for missing trailing arguments, where a freshly prepared one (what
 * the client runs) binds NULL. Padding past the real count is harmless, since
 * `libsql` ignores extra positional arguments.
 */
export function normaliseArgs(
  args: InArgs | null | undefined,
  intMode: IntMode,
  shape: ParameterShape,
): unknown[] | Record<string, unknown> {
  if (args === undefined || args === null) {
    return shape.count === 0 ? NO_ARGS : new Array(shape.count).fill(null);
  }
  if (Array.isArray(args)) {
    const out = new Array(Math.max(args.length, shape.count));
    for (let i = 0; i < args.length; i++) out[i] = valueToSql(args[i], intMode);
    for (let i = args.length; i < out.length; i++) out[i] = null;
    return out;
  }
  if (!isPlainObject(args)) {
    throw new PoolError(
      'INVALID_ARGUMENT',
      `Statement arguments must be an array or a plain object of named values, got ${describeValue(args)}`,
    );
  }
  if (shape.anonymous) {
    // libsql 0.5 aborts the process when a named map meets an unnamed index.
    throw new PoolError(
      'INVALID_ARGUMENT',
      'Named arguments were given for a statement with positional parameters (a bare `?`, or an index ' +
        'that no name covers); pass an array instead',
    );
  }
  const out: Record<string, unknown> = {};
  for (const name in args) {
    const key = name[0] === '@' || name[0] === '$' || name[0] === ':' ? name.substring(1) : name;
    out[key] = valueToSql(args[name], intMode);
  }
  return out;
}

/** The client's `valueToSql`, plus rejection of values `libsql` cannot bind. */
function valueToSql(value: InValue | undefined, intMode: IntMode): unknown {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
      if (!Number.isFinite(value)) {
        throw new RangeError('Only finite numbers (not Infinity or NaN) can be passed as arguments');
      }
      return value;
    case 'bigint':
      if (value < MIN_INT64 || value > MAX_INT64) {
        throw new RangeError('bigint is too large to be represented as a 64-bit integer and passed as argument');
      }
      return value;
    case 'boolean':
      // libsql 0.5 aborts the process on a boolean.
      return intMode === 'bigint' ? (value ? 1n : 0n) : intMode === 'string' ? (value ? '1' : '0') : value ? 1 : 0;
    case 'undefined':
      throw new TypeError('undefined cannot be passed as argument to the database');
    default:
      if (value === null || value instanceof Uint8Array) return value;
      if (value instanceof ArrayBuffer) return Buffer.from(value);
      if (value instanceof Date) return value.valueOf();
      throw new PoolError(
        'INVALID_ARGUMENT',
        `Cannot bind ${describeValue(value)}: SQLite can only bind numbers, strings, bigints, booleans, Dates, ` +
          'ArrayBuffers, Uint8Arrays and null',
      );
  }
}

function isPlainObject(value: object): value is Record<string, InValue> {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
