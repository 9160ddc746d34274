import { isDeepStrictEqual } from 'node:util';
import { rowFromSql, rowsFromSql } from '../../lib/drivers/result';

/** Everything a caller can see of a row: its keys in order, each descriptor, and its prototype. */
function view(row: object) {
  return { keys: Reflect.ownKeys(row), descriptors: Object.getOwnPropertyDescriptors(row), proto: Object.getPrototypeOf(row) };
}

// `rowFromSql` is `@libsql/client`'s construction; the conformance tests compare it with the
// client's rows. Names that jest's equality reads specially (`__proto__`, `constructor`) are
// compared here with node's own deep equality.
describe('rowsFromSql builds the rows rowFromSql builds', () => {
  test.each([
    [['id', 'name', 'value']],
    [['a', 'a']],
    [['length', '0', '2', '01']],
    [['x', '2', 'y']],
    [['__proto__', 'constructor', 'toString', 'hasOwnProperty']],
    [['']],
  ])('columns %j', (columns) => {
    const raw = [columns.map((_, i) => BigInt(i + 1)), columns.map((_, i) => `v${i}`)];
    for (const intMode of ['number', 'bigint', 'string'] as const) {
      const fast = rowsFromSql(raw, columns, intMode);
      const reference = raw.map((row) => rowFromSql(row, columns, intMode));
      expect(fast).toHaveLength(reference.length);
      fast.forEach((row, i) => expect(isDeepStrictEqual(view(row), view(reference[i]!))).toBe(true));
    }
  });

  test("an unsafe integer is still a RangeError in 'number' mode", () => {
    expect(() => rowsFromSql([[2n ** 60n]], ['big'], 'number')).toThrow(RangeError);
  });
});
