/**
 * Whether running `sql` could leave a transaction open. In SQLite only
 * `BEGIN` and `SAVEPOINT` (outside a transaction) open one; any other
 * statement, in autocommit, ends with the connection still outside one.
 *
 * A lease that ran nothing for which this is true cannot have left a
 * transaction open, so checkin does not ask the driver (for libsql, a
 * native call). The test errs towards `true`: a text not led by a keyword (a
 * comment, say), one whose keyword starts as `BEGIN` or `SAVEPOINT` do, and
 * one holding a `;` (more than one statement, or a literal with one) all count.
 */
export function mayOpenTransaction(sql: string): boolean {
  let i = 0;
  while (i < sql.length && sql.charCodeAt(i) <= 32) i++;
  // ASCII letters with the case bit set: 'a' is 97, 'z' is 122.
  const first = sql.charCodeAt(i) | 0x20;
  const second = sql.charCodeAt(i + 1) | 0x20;
  if (first < 97 || first > 122) return true;
  if ((first === 98 && second === 101) || (first === 115 && second === 97)) return true; // BE…, SA…
  return sql.includes(';');
}
