import { describePlain } from './plain-sql';
import { NO_PARAMS, type ParameterShape, type SessionTouch, type SqlDescription, type StatementKind, type TransactionEffect } from './sql-description';

export type { ParameterShape, SessionTouch, SqlDescription, StatementKind, TransactionEffect };

// One tokenizer, shaped after SQLite's own (tokenize.c): whitespace is space,
// tab, newline, vertical tab, form feed and carriage return; `--` runs to the
// end of the line and `/*` to the next `*/` or the end of the text (SQLite
// treats an unterminated comment as a comment); '…' is a string, "…" and `…`
// identifiers in which a doubled quote stands for itself, […] an identifier
// with no escape; an identifier character is a letter, digit, `_`, `$` or any
// non-ASCII character. An unterminated string or identifier runs to the end
// of the text: SQLite refuses to prepare such a statement anyway.

const SPACE = 1;
const ID = 2;
const DIGIT = 4;

const CLASS = new Uint8Array(128);
for (const c of ' \t\n\v\f\r') CLASS[c.charCodeAt(0)] = SPACE;
for (let c = 0x30; c <= 0x39; c++) CLASS[c] = ID | DIGIT;
for (let c = 0x41; c <= 0x5a; c++) CLASS[c] = ID;
for (let c = 0x61; c <= 0x7a; c++) CLASS[c] = ID;
CLASS[0x5f] = ID; // _
CLASS[0x24] = ID; // $

function isId(code: number): boolean {
  return code >= 128 || (CLASS[code]! & ID) !== 0;
}

function isDigit(code: number): boolean {
  return code < 128 && (CLASS[code]! & DIGIT) !== 0;
}

const enum Ch {
  Dollar = 0x24,
  Hash = 0x23,
  Quote = 0x27,
  DoubleQuote = 0x22,
  Paren = 0x28,
  CloseParen = 0x29,
  Star = 0x2a,
  Minus = 0x2d,
  Dot = 0x2e,
  Slash = 0x2f,
  Colon = 0x3a,
  Semicolon = 0x3b,
  Equals = 0x3d,
  Question = 0x3f,
  At = 0x40,
  Bracket = 0x5b,
  CloseBracket = 0x5d,
  Backtick = 0x60,
}

/** The kind of token just read. */
const enum Tok {
  /** A bare word: a keyword, an identifier or a number. */
  Word,
  /** A quoted identifier or a string literal. */
  Name,
  Param,
  /** Any other single character. */
  Punct,
}

/** Statements whose first keyword says they leave the transaction as it is. */
const KEEPS = new Set([
  'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'WITH', 'VALUES', 'CREATE', 'ALTER', 'DROP',
  'PRAGMA', 'EXPLAIN', 'ANALYZE', 'REINDEX', 'VACUUM', 'ATTACH', 'DETACH',
]);

/** The statement a WITH clause leads to: its first keyword outside parentheses. */
const WITH_BODY = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'VALUES']);

const NO_PRAGMAS: readonly string[] = Object.freeze([]);

/** What one pass over the text found; `describeSql` and `describeScript` read it their own way. */
interface Scan {
  /** The first statement's leading bare words, upper-cased (up to four), after any empty statements. */
  readonly lead: string[];
  /** How many tokens the first statement has, `;` excluded. */
  readonly firstLength: number;
  /** Whether a token other than `;` follows the first statement. */
  readonly more: boolean;
  /** The first keyword outside parentheses that a leading WITH leads to. */
  readonly withBody: string | undefined;
  readonly star: boolean;
  readonly params: ParameterShape;
  readonly pragmas: readonly string[];
  /** TEMP or TEMPORARY, bare, quoted or as a string: `'temp'.t` names the TEMP schema too. */
  readonly tempWord: boolean;
  /** ATTACH or DETACH as a bare word. */
  readonly attachWord: boolean;
  /** `SqlDescription.oneRowLimit`, whatever the statement's verb. */
  readonly oneRowLimit: number;
}

/** `LIMIT` and `OFFSET` in ASCII letters of any case: `toUpperCase` would also take `ı` for I and `ſ` for S. */
const LIMIT_WORD = /^limit$/i;
const OFFSET_WORD = /^offset$/i;
const DIGITS = /^[0-9]+$/;

/** Where the first statement's own LIMIT clause has got to (see `SqlDescription.oneRowLimit`). */
const enum Limit {
  /** None yet, or one that cannot bound the rows to one. */
  None,
  /** After LIMIT, at the top level. */
  Keyword,
  /** After `LIMIT 0`, `LIMIT 1` or `LIMIT ?`. */
  Count,
  Offset,
  /** After OFFSET and its value. */
  OffsetValue,
}

const LEAD = 4;

/** Reads the whole text once. Kept to one function of plain locals: it runs once per prepare. */
function scan(sql: string): Scan {
  const n = sql.length;
  const lead: string[] = [];
  let firstLength = 0;
  /** 0: no statement yet, 1: in the first statement, 2: after it. */
  let statement = 0;
  let more = false;
  let withBody: string | undefined;
  let depth = 0;
  let star = false;
  /** The previous token was `(`: a `*` after it is `count(*)`. */
  let afterParen = false;
  // Parameters, as SQLite numbers them.
  let count = 0;
  let bare = false;
  let names: Set<string> | undefined;
  /** Indices that have a name; libsql aborts on a named map if any index has none. */
  let named: Set<number> | undefined;
  // Session words.
  let pragmas: string[] | undefined;
  /** 0: none, 1: after PRAGMA, 2: after its (schema or) name, 3: after `schema.`. */
  let pragma = 0;
  let pragmaName = '';
  let tempWord = false;
  let attachWord = false;
  let limit = Limit.None;
  /** What `Limit.Count` read: 0 for a literal, else the `?`'s index. */
  let limitCount = 0;

  let i = 0;
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (c < 128 && CLASS[c] === SPACE) {
      i++;
      continue;
    }
    if (c === Ch.Minus && sql.charCodeAt(i + 1) === Ch.Minus) {
      const end = sql.indexOf('\n', i + 2);
      i = end === -1 ? n : end + 1;
      continue;
    }
    if (c === Ch.Slash && sql.charCodeAt(i + 1) === Ch.Star) {
      const end = sql.indexOf('*/', i + 2);
      i = end === -1 ? n : end + 2;
      continue;
    }

    let tok: Tok;
    let text = '';
    const start = i;
    if (c === Ch.Colon || c === Ch.At || c === Ch.Dollar || c === Ch.Hash) {
      i++;
      for (;;) {
        const d = sql.charCodeAt(i);
        if (i < n && isId(d)) i++;
        // `$a::b` is one name (Tcl's namespaces).
        else if (c === Ch.Dollar && d === Ch.Colon && sql.charCodeAt(i + 1) === Ch.Colon) i += 2;
        else break;
      }
      if (i > start + 1) {
        const name = sql.slice(start, i);
        if (!(names ??= new Set()).has(name)) {
          names.add(name);
          (named ??= new Set()).add(++count);
        }
        tok = Tok.Param;
      } else {
        tok = Tok.Punct;
      }
    } else if (isId(c)) {
      i++;
      while (i < n && isId(sql.charCodeAt(i))) i++;
      tok = Tok.Word;
    } else if (c === Ch.Quote || c === Ch.DoubleQuote || c === Ch.Backtick) {
      i = skipQuoted(sql, i, c);
      tok = Tok.Name;
    } else if (c === Ch.Bracket) {
      const end = sql.indexOf(']', i + 1);
      i = end === -1 ? n : end + 1;
      tok = Tok.Name;
    } else if (c === Ch.Question) {
      i++;
      while (i < n && isDigit(sql.charCodeAt(i))) i++;
      if (i === start + 1) {
        bare = true;
        count++;
      } else {
        const index = Number(sql.slice(start + 1, i));
        (named ??= new Set()).add(index);
        if (index > count) count = index;
      }
      tok = Tok.Param;
    } else {
      i++;
      tok = Tok.Punct;
    }

    if (tok === Tok.Punct && c === Ch.Semicolon) {
      if (statement === 1) statement = 2;
      afterParen = false;
      pragma = 0;
      continue;
    }
    if (statement === 0) statement = 1;
    else if (statement === 2) more = true;

    if (tok === Tok.Word) {
      const length = i - start;
      const seekingBody = statement === 1 && depth === 0 && withBody === undefined && lead[0] === 'WITH';
      // Only words that could be one of the keywords read below are sliced,
      // told by their length and first letter: TEMP, TEMPORARY, ATTACH,
      // DETACH, PRAGMA, and what WITH leads to. Of all characters only the
      // ASCII letters t, a, d and p upper-case to exactly T, A, D and P.
      const first = c | 0x20;
      if (statement === 1 && lead.length < LEAD && firstLength === lead.length) {
        text = sql.slice(start, i).toUpperCase();
        lead.push(text);
      } else if (
        pragma !== 0 ||
        (first === 0x74 && (length === 4 || length === 9)) ||
        (length === 6 && (first === 0x61 || first === 0x64 || first === 0x70 || seekingBody)) ||
        (length === 7 && seekingBody)
      ) {
        text = sql.slice(start, i).toUpperCase();
      }
      if (text === 'TEMP' || text === 'TEMPORARY') tempWord = true;
      else if (text === 'ATTACH' || text === 'DETACH') attachWord = true;
      if (seekingBody && firstLength > 0 && WITH_BODY.has(text)) withBody = text;
    } else if (tok === Tok.Name) {
      const length = i - start;
      if (length >= 6 && length <= 11) {
        text = unquote(sql.slice(start, i)).toUpperCase();
        if (text === 'TEMP' || text === 'TEMPORARY') tempWord = true;
      } else if (pragma === 1 || pragma === 3) {
        text = unquote(sql.slice(start, i)).toUpperCase();
      }
    } else if (tok === Tok.Punct) {
      if (c === Ch.Star && !afterParen) star = true;
      else if (c === Ch.Paren) depth++;
      else if (c === Ch.CloseParen && depth > 0) depth--;
    }

    // PRAGMA [schema.]name followed by `=` or `(` assigns it.
    if (tok === Tok.Word && text === 'PRAGMA') {
      pragma = 1;
    } else if (pragma === 1 || pragma === 3) {
      if (tok === Tok.Word || tok === Tok.Name) {
        pragmaName = text;
        pragma = 2;
      } else {
        pragma = 0;
      }
    } else if (pragma === 2) {
      if (tok === Tok.Punct && c === Ch.Dot) {
        pragma = 3;
      } else {
        if (tok === Tok.Punct && (c === Ch.Equals || c === Ch.Paren)) (pragmas ??= []).push(pragmaName.toLowerCase());
        pragma = 0;
      }
    }

    // The statement's own LIMIT is at the top level, and nothing but an OFFSET may follow it.
    if (statement === 1) {
      const length = i - start;
      if (tok === Tok.Word && depth === 0 && length === 5 && LIMIT_WORD.test(sql.slice(start, i))) {
        limit = Limit.Keyword;
      } else if (limit === Limit.Keyword) {
        const one = tok === Tok.Word && length === 1 && (c === 0x30 || c === 0x31);
        const bareParam = tok === Tok.Param && c === Ch.Question && length === 1;
        limit = one || bareParam ? Limit.Count : Limit.None;
        limitCount = bareParam ? count : 0;
      } else if (limit === Limit.Count) {
        limit = tok === Tok.Word && length === 6 && OFFSET_WORD.test(sql.slice(start, i)) ? Limit.Offset : Limit.None;
      } else if (limit === Limit.Offset) {
        limit = tok === Tok.Param || (tok === Tok.Word && DIGITS.test(sql.slice(start, i))) ? Limit.OffsetValue : Limit.None;
      } else if (limit === Limit.OffsetValue) {
        limit = Limit.None;
      }
    }

    afterParen = tok === Tok.Punct && c === Ch.Paren;
    if (statement === 1) firstLength++;
  }

  const params: ParameterShape =
    count === 0 ? NO_PARAMS : { count, anonymous: bare || (named?.size ?? 0) < count };
  return {
    lead,
    firstLength,
    more,
    withBody,
    star,
    params,
    pragmas: pragmas ?? NO_PRAGMAS,
    tempWord,
    attachWord,
    // A `?` is parameter `limitCount` only if every parameter is a bare `?`.
    oneRowLimit: (limit === Limit.Count || limit === Limit.OffsetValue) && (limitCount === 0 || named === undefined) ? limitCount : -1,
  };
}

function skipQuoted(sql: string, start: number, quote: number): number {
  let i = start + 1;
  for (;;) {
    const end = sql.indexOf(String.fromCharCode(quote), i);
    if (end === -1) return sql.length;
    // A doubled quote stands for the quote itself.
    if (sql.charCodeAt(end + 1) !== quote) return end + 1;
    i = end + 2;
  }
}

/** The content of a quoted token, whose first character is its quote. */
function unquote(token: string): string {
  const open = token.charCodeAt(0);
  const close = open === Ch.Bracket ? Ch.CloseBracket : open;
  const body = token.charCodeAt(token.length - 1) === close && token.length > 1 ? token.slice(1, -1) : token.slice(1);
  if (open === Ch.Bracket) return body;
  const quote = token[0]!;
  return body.includes(quote) ? body.split(quote + quote).join(quote) : body;
}

function kindOf(lead: readonly string[]): StatementKind {
  switch (lead[0]) {
    case 'BEGIN':
      return 'begin';
    case 'COMMIT':
    case 'END':
      return 'commit';
    case 'ROLLBACK':
      return lead[1] === 'TO' || (lead[1] === 'TRANSACTION' && lead[2] === 'TO') ? 'rollbackTo' : 'rollback';
    case 'CREATE':
    case 'ALTER':
    case 'DROP':
      return 'ddl';
    default:
      return 'other';
  }
}

function effectOf(s: Scan, kind: StatementKind): TransactionEffect {
  const first = s.lead[0];
  if (first === undefined) return 'unknown';
  if (KEEPS.has(first)) return 'keeps';
  if (kind === 'begin' || first === 'SAVEPOINT') return 'opens';
  if (kind === 'commit') return 'ends';
  // ROLLBACK [TRANSACTION [name]] alone; anything after it could make it a ROLLBACK TO.
  if (kind === 'rollback' && !s.more && s.firstLength <= 3 && s.firstLength === s.lead.length) return 'ends';
  return 'unknown';
}

/** The statement EXPLAIN [QUERY PLAN] describes: SQLite applies many PRAGMAs as it prepares them, explained or not. */
function explained(lead: readonly string[]): string | undefined {
  if (lead[0] !== 'EXPLAIN') return lead[0];
  return lead[1] === 'QUERY' && lead[2] === 'PLAN' ? lead[3] : lead[1];
}

function touch(pragmas: readonly string[], temp: boolean, attached: boolean): SessionTouch | undefined {
  return pragmas.length === 0 && !temp && !attached ? undefined : { pragmas, temp, attached };
}

function sessionOf(s: Scan): SessionTouch | undefined {
  switch (explained(s.lead)) {
    case 'PRAGMA':
      return touch(s.pragmas, false, false);
    case 'ATTACH':
    case 'DETACH':
      return touch(NO_PRAGMAS, false, true);
    case 'CREATE':
    case 'DROP':
    case 'ALTER':
      return touch(NO_PRAGMAS, s.tempWord, false);
    default:
      return undefined;
  }
}

// The lease reads a new statement's session change just before its driver
// prepares the same text: remembering the last description lets the two share
// one pass. Descriptions are immutable, so sharing one is safe.
let lastSql: string | undefined;
let lastDescription: SqlDescription | undefined;

/**
 * Describes the first statement of `sql` (parameters, `*` and session words
 * are read from the whole text, which may overcount but never misses). Called
 * when a statement is prepared, never on a cache hit.
 */
export function describeSql(sql: string): SqlDescription {
  if (sql === lastSql) return lastDescription!;
  const description = describePlain(sql) ?? describeSqlInFull(sql);
  lastSql = sql;
  lastDescription = description;
  return description;
}

/** @internal `describeSql` by the tokenizer alone, without the shortcut for plain text (`plain-sql.ts`). */
export function describeSqlInFull(sql: string): SqlDescription {
  const s = scan(sql);
  const kind = kindOf(s.lead);
  const verb = s.lead[0] === 'WITH' ? s.withBody : s.lead[0];
  return {
    kind,
    effect: effectOf(s, kind),
    empty: s.firstLength === 0,
    star: s.star,
    selectsStar: s.star && verb === 'SELECT',
    params: s.params,
    oneRowLimit: verb === 'SELECT' ? s.oneRowLimit : -1,
    session: sessionOf(s),
  };
}

/**
 * What a `;`-separated script (`executeMultiple`, which is not split) may
 * change in the session: every assigned PRAGMA, and TEMP or ATTACH/DETACH
 * anywhere in it.
 */
export function describeScript(sql: string): SessionTouch | undefined {
  const s = scan(sql);
  return touch(s.pragmas, s.tempWord, s.attachWord);
}
