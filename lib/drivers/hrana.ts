import * as hrana from '@libsql/hrana-client';
import { LibsqlError } from '@libsql/core/api';
import { ResultSetImpl } from '@libsql/core/util';
import type { InArgs, ResultSet } from '@libsql/client';
import { withRowMode } from './result';
import type { RowMode } from './row-mode';

// `@libsql/client` 0.18's conversions between its statements and results and
// Hrana's (`lib-esm/hrana.js`), which the package does not export. Reproduced
// so remote results and errors are the client's, value for value.

/** A Hrana statement for `sql` (text, or SQL stored on the server) with the client's argument binding. */
export function stmtToHrana(sql: string | hrana.Sql, args: InArgs | undefined): hrana.Stmt {
  const stmt = new hrana.Stmt(sql);
  if (args) {
    if (Array.isArray(args)) {
      stmt.bindIndexes(args);
    } else {
      for (const [key, value] of Object.entries(args)) stmt.bindName(key, value);
    }
  }
  return stmt;
}

/**
 * The client's result for Hrana's rows, which are already the client's row
 * objects (hrana-client applied `intMode` as it built them), in the rows of
 * `rowMode`.
 */
export function resultSetFromHrana(rows: hrana.RowsResult, rowMode: RowMode = 'client'): ResultSet {
  const result = new ResultSetImpl(
    rows.columnNames.map((c) => c ?? ''),
    rows.columnDecltypes.map((c) => c ?? ''),
    rows.rows as unknown as ResultSet['rows'],
    rows.affectedRowCount,
    rows.lastInsertRowid,
  );
  return withRowMode(result, rowMode);
}

/** Hrana's errors become the client's `LibsqlError`s, with the same codes. */
export function mapHranaError(error: unknown): unknown {
  if (error instanceof hrana.ClientError) {
    return new LibsqlError(error.message, hranaErrorCode(error), undefined, undefined, error);
  }
  return error;
}

function hranaErrorCode(e: hrana.ClientError): string {
  if (e instanceof hrana.ResponseError && e.code !== undefined) return e.code;
  if (e instanceof hrana.ProtoError) return 'HRANA_PROTO_ERROR';
  if (e instanceof hrana.ClosedError) {
    return e.cause instanceof hrana.ClientError ? hranaErrorCode(e.cause) : 'HRANA_CLOSED_ERROR';
  }
  if (e instanceof hrana.WebSocketError) return 'HRANA_WEBSOCKET_ERROR';
  if (e instanceof hrana.HttpServerError) return 'SERVER_ERROR';
  if (e instanceof hrana.ProtocolVersionError) return 'PROTOCOL_VERSION_ERROR';
  if (e instanceof hrana.InternalError) return 'INTERNAL_ERROR';
  return 'UNKNOWN';
}

/** The server is saturated: sqld's "Too many concurrent requests", or HTTP 429/503. */
export function isBackpressure(error: unknown): boolean {
  const cause = error instanceof LibsqlError ? error.cause : error;
  if (cause instanceof hrana.HttpServerError) return cause.status === 429 || cause.status === 503;
  return cause instanceof Error && /too many concurrent requests/i.test(cause.message);
}

/**
 * Whether an error means the connection itself is gone (socket closed, server
 * unreachable, stream expired), as opposed to one statement failing.
 */
export function isConnectionError(error: unknown): boolean {
  const cause = error instanceof LibsqlError ? error.cause : error;
  if (cause instanceof hrana.ResponseError) return false;
  return (
    cause instanceof hrana.ClosedError ||
    cause instanceof hrana.WebSocketError ||
    cause instanceof hrana.HttpServerError ||
    cause instanceof hrana.ProtoError ||
    cause instanceof hrana.InternalError ||
    // fetch() rejects with this TypeError when the server cannot be reached
    // (matched by name: it may come from another realm than this module's).
    ((cause as Error | undefined)?.name === 'TypeError' && (cause as Error).message === 'fetch failed')
  );
}
