import { NO_PARAMS, type SqlDescription } from './sql-description';

// A shortcut past the full tokenizer (sql-text.ts) for the text it is most
// often given new: a SELECT, INSERT, UPDATE, DELETE, REPLACE or VALUES
// statement written plainly, with its values inlined as numbers. Such a
// statement neither opens nor ends a transaction, is not DDL and changes
// nothing in the session; what is left to read is its `*` and its `?`
// parameters. Any text it is not sure of goes to the tokenizer, and the tests
// hold the two to the same answer on generated SQL.

/**
 * What a plain text has none of: a quote or bracket (strings, quoted names),
 * a comment, a named parameter's sigil (`$` is also an identifier character),
 * a `;` (a second statement) or a non-ASCII character. Without them every
 * token is an ASCII word, whitespace, `?` with its digits, or a single
 * punctuation character.
 */
const NOT_PLAIN = /['"`[$:@#;\u0080-\uffff]|--|\/\*/;

const VERBS = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'VALUES']);

/** The description of every plain statement with no `*` and no parameter. */
const PLAIN: SqlDescription = Object.freeze({
  kind: 'other',
  effect: 'keeps',
  empty: false,
  star: false,
  selectsStar: false,
  params: NO_PARAMS,
  oneRowLimit: -1,
  session: undefined,
});

const PAREN = 0x28;

const LIMIT = /limit/i;

/** SQLite's whitespace: space, tab, newline, vertical tab, form feed, carriage return. */
function isSpace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}

function isWordChar(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || (code >= 0x30 && code <= 0x39) || code === 0x5f;
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/**
 * The description of `sql` if it is a plain statement (see above), as the
 * tokenizer would give it; `undefined` for any other text.
 */
export function describePlain(sql: string): SqlDescription | undefined {
  if (NOT_PLAIN.test(sql)) return undefined;
  const n = sql.length;
  let start = 0;
  while (start < n && isSpace(sql.charCodeAt(start))) start++;
  let end = start;
  while (end < n && isWordChar(sql.charCodeAt(end))) end++;
  if (end - start < 6 || end - start > 7) return undefined;
  const verb = sql.slice(start, end).toUpperCase();
  if (!VERBS.has(verb)) return undefined;
  // A LIMIT may make a SELECT one row at most (`oneRowLimit`): the tokenizer reads it.
  if (verb === 'SELECT' && LIMIT.test(sql)) return undefined;

  let star = false;
  let count = 0;
  let bare = false;
  let named: Set<number> | undefined;
  // A `?` or `*` can only be a token of its own here: no string, name or comment can hold one.
  for (let i = sql.indexOf('?', end); i !== -1; i = sql.indexOf('?', i + 1)) {
    let j = i + 1;
    while (j < n && isDigit(sql.charCodeAt(j))) j++;
    if (j === i + 1) {
      bare = true;
      count++;
    } else {
      const index = Number(sql.slice(i + 1, j));
      (named ??= new Set()).add(index);
      if (index > count) count = index;
    }
  }
  for (let i = sql.indexOf('*', end); i !== -1 && !star; i = sql.indexOf('*', i + 1)) {
    // `count(*)`: the token before it is `(`, whatever whitespace lies between.
    let before = i - 1;
    while (before >= 0 && isSpace(sql.charCodeAt(before))) before--;
    if (sql.charCodeAt(before) !== PAREN) star = true;
  }
  if (!star && count === 0) return PLAIN;
  // Written out rather than `{ ...PLAIN, star, … }`: V8 builds a spread
  // followed by more fields on a slow path, which costs more than this read.
  return {
    kind: 'other',
    effect: 'keeps',
    empty: false,
    star,
    selectsStar: star && verb === 'SELECT',
    params: count === 0 ? NO_PARAMS : { count, anonymous: bare || (named?.size ?? 0) < count },
    oneRowLimit: -1,
    session: undefined,
  };
}
