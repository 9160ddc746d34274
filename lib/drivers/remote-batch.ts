import * as hrana from '@libsql/hrana-client';
import type { InArgs, ResultSet } from '@libsql/client';
import { LibsqlBatchError, LibsqlError } from '@libsql/core/api';
import type { DriverBatchStep } from './driver';
import { mapHranaError, resultSetFromHrana, stmtToHrana } from './hrana';
import type { RemoteStatement } from './remote-statement';

/**
 * What a batch needs of the remote connection it runs on: its stream, its
 * view of the transaction state, and the way it maps failures. The
 * connection keeps its state private and lends these.
 */
export interface BatchHost {
  /** Checks the connection can be used, and sets a replaced session up again. */
  start(): Promise<void>;
  stream(): hrana.Stream;
  /** The Hrana version the server speaks. */
  version(): number;
  /**
   * The SQL stored for `st` on the current stream, storing it if there is
   * room and the pool's cache still holds `st` (which releases it); else its text.
   */
  sql(st: RemoteStatement): string | hrana.Sql;
  /** Asks whether a transaction is open, in the same tick as the request it is about (never rejects). */
  ask(): Promise<unknown>;
  /** Records what `ask` got: an error leaves the state unknown, and the connection is not lent again. */
  learnt(unanswered: unknown): void;
  /** Records the transaction state when it is certain without asking. */
  known(open: boolean): void;
  /** Maps a failure as a statement's; `settled`: whether the state after it is already known. */
  fail(error: unknown, settled: boolean): Promise<unknown>;
  /** Whether the server refused the HTTP stream itself (so nothing ran), outside a transaction. */
  expired(error: unknown): boolean;
  /** Replaces the HTTP stream. */
  renew(): void;
  /** Frees the SQL stored for `st`. */
  release(st: RemoteStatement): void;
}

/** A part of a batch, for `sendPart`. */
interface Part {
  /** `BEGIN …` ahead of the statements: the first part of a batch that owns its transaction. */
  readonly begin: string | undefined;
  /** Whether the batch opened the transaction it runs in, and so rolls it back on failure. */
  readonly own: boolean;
  readonly steps: readonly DriverBatchStep[];
  readonly stmts: readonly hrana.Stmt[];
  readonly from: number;
  readonly end: number;
  /** Whether `COMMIT` follows the statements. */
  readonly committing: boolean;
  /** Whether an expired HTTP stream may be replaced and the part sent again. */
  readonly mayRetry: boolean;
}

interface PartResult {
  readonly rows: hrana.RowsResult[];
  /** `PRAGMA schema_version` just before the part's last statement, when that is a `SELECT *`. */
  readonly schemaVersion: unknown;
}

/** `sendPart` found the HTTP stream expired before anything ran. */
const EXPIRED = Symbol('expired');

/**
 * Runs a batch as `@libsql/client` sends it (`executeHranaBatch`): one Hrana
 * batch in which each statement runs only if the one before succeeded and
 * the transaction is still open, then `COMMIT`, and a `ROLLBACK` if the
 * commit did not happen, with the server's transaction state asked in the
 * same request. A `SELECT *` must be checked against the schema before
 * anything after it runs (see `#runStar` in remote-connection.ts), so a batch holding
 * one is sent in parts, each ending with such a statement, all inside the
 * transaction.
 */
export async function runBatch(
  host: BatchHost,
  steps: readonly DriverBatchStep[],
  begin: string | undefined,
  mayRetry = true,
): Promise<ResultSet[]> {
  await host.start();
  const statements = steps.map((step) => step.statement as RemoteStatement);
  let stmts: hrana.Stmt[];
  try {
    // Built before anything is sent: a value Hrana cannot encode throws
    // here, as it does in the client, and nothing has run.
    stmts = steps.map((step, i) => stmtToHrana(host.sql(statements[i]!), step.args));
  } catch (error) {
    throw mapHranaError(error);
  }
  const own = begin !== undefined;
  const results: ResultSet[] = [];
  let from = 0;
  for (;;) {
    let end = from;
    while (end < steps.length && !statements[end]!.selectsStar) end++;
    const star = end < steps.length;
    if (star) end++;
    const committing = own && end === steps.length && !star;
    if (!committing && from === end) return results;
    const first = from === 0;
    const part = await sendPart(host, {
      begin: first ? begin : undefined,
      own,
      steps,
      stmts,
      from,
      end,
      committing,
      mayRetry: mayRetry && first,
    });
    if (part === EXPIRED) {
      // Nothing ran and no transaction was open: on a new stream nothing is lost.
      host.renew();
      return runBatch(host, steps, begin, false);
    }
    for (const rows of part.rows) results.push(resultSetFromHrana(rows));
    if (star) {
      const st = statements[end - 1]!;
      const seen = st.schemaVersion;
      st.schemaVersion = part.schemaVersion;
      if (seen !== undefined && seen !== part.schemaVersion) {
        results[end - 1] = await rerunStar(host, st, steps[end - 1]!.args, end - 1);
      }
    }
    if (committing) return results;
    from = end;
  }
}

/** Sends statements `from` to `end` of a batch as one Hrana batch, and reads the outcome as the client does. */
async function sendPart(host: BatchHost, part: Part): Promise<PartResult | typeof EXPIRED> {
  const { begin, from, end } = part;
  // Without a cursor, as `#runStar` in remote-connection.ts, and as the client over HTTP.
  const batch = host.stream().batch(false);
  const v3 = host.version() >= 3;
  let last: hrana.BatchStep | undefined;
  let beginStep: hrana.BatchStep | undefined;
  let opened: Promise<unknown> | undefined;
  if (begin !== undefined) {
    beginStep = last = batch.step();
    opened = quiet(beginStep.run(begin));
  }
  // Each step runs only once the one before succeeded, and inside the
  // transaction. A statement that fails stops the chain (whatever it did to
  // the transaction), so the server is asked whether the transaction is still
  // open only where a statement that succeeded may have ended it (COMMIT,
  // ROLLBACK, END), and at the start of a part that has no BEGIN: the check
  // on every step, as the client makes it, costs a batch of 2,001 statements
  // a third of its time.
  let mayHaveEnded = begin === undefined;
  const chained = (): hrana.BatchStep => {
    const step = batch.step();
    if (last !== undefined) step.condition(hrana.BatchCond.ok(last));
    if (v3 && mayHaveEnded) step.condition(hrana.BatchCond.not(hrana.BatchCond.isAutocommit(batch)));
    return step;
  };
  const rows: Array<Promise<hrana.RowsResult | undefined>> = [];
  let schemaVersion: Promise<unknown> | undefined;
  for (let i = from; i < end; i++) {
    const st = part.steps[i]!.statement as RemoteStatement;
    if (st.selectsStar) {
      const check = chained();
      schemaVersion = quiet(check.queryValue('PRAGMA schema_version').then((v) => v?.value));
      last = check;
    }
    // A later part is built again as it is sent: an earlier part may have
    // renamed a statement, or its stored SQL may have been released meanwhile.
    const stmt = from === 0 && !st.selectsStar ? part.stmts[i]! : stmtToHrana(host.sql(st), part.steps[i]!.args);
    const step = chained();
    rows.push(quiet(step.query(stmt)));
    last = step;
    mayHaveEnded = st.effect !== 'keeps';
  }
  let commit: Promise<unknown> | undefined;
  if (part.committing) {
    const commitStep = chained();
    commit = quiet(commitStep.run('COMMIT'));
    last = commitStep;
  }
  let rollback: Promise<unknown> | undefined;
  if (part.own && last !== undefined) {
    const rollbackStep = batch.step().condition(hrana.BatchCond.not(hrana.BatchCond.ok(last)));
    // A BEGIN that failed opened nothing: a transaction open then is not this batch's.
    if (beginStep !== undefined && beginStep !== last) rollbackStep.condition(hrana.BatchCond.ok(beginStep));
    rollback = quiet(rollbackStep.run('ROLLBACK'));
  }

  let asked: Promise<unknown> | undefined;
  try {
    const executed = batch.execute();
    asked = host.ask();
    await executed;
  } catch (error) {
    // Only here does a step's promise never settle: the batch had no answer.
    const unanswered = await asked;
    if (part.mayRetry && host.expired(error)) return EXPIRED;
    host.learnt(unanswered);
    throw await host.fail(error, asked !== undefined);
  }
  const unanswered = await asked;
  if (v3) {
    host.learnt(unanswered);
  } else if ((commit !== undefined && (await succeeded(commit))) || (rollback !== undefined && (await succeeded(rollback)))) {
    host.known(false);
  } else if (
    (opened === undefined || (await succeeded(opened))) &&
    (await Promise.all(rows.map((r) => r.then((v) => v !== undefined, () => false)))).every(Boolean) &&
    part.steps.slice(from, end).every(({ statement }) => (statement as RemoteStatement).effect === 'keeps')
  ) {
    // An older server cannot say, but nothing here ended the transaction.
    host.known(true);
  } else {
    host.learnt(unanswered);
  }

  if (opened !== undefined) {
    try {
      await opened;
    } catch (error) {
      throw await host.fail(error, true);
    }
  }
  const results: hrana.RowsResult[] = [];
  for (let i = 0; i < rows.length; i++) {
    let result: hrana.RowsResult | undefined;
    try {
      result = await rows[i];
    } catch (error) {
      throw batchError(await host.fail(error, true), from + i);
    }
    if (result === undefined) {
      // The client's words: its batch's, or its transaction's for a batch that joined one.
      throw new LibsqlBatchError(
        `Statement in a ${part.own ? 'batch' : 'transaction'} was not executed, probably because the transaction has been rolled back`,
        from + i,
        'TRANSACTION_CLOSED',
      );
    }
    results.push(result);
  }
  if (commit !== undefined) {
    try {
      await commit;
    } catch (error) {
      throw await host.fail(error, true);
    }
  }
  return { rows: results, schemaVersion: await schemaVersion };
}

/**
 * A `SELECT *` of a batch ran on a statement the server had prepared before
 * the schema changed: it runs again under a new text, inside the same
 * transaction and before anything after it. If that fails, the lease rolls
 * back a transaction the batch opened.
 */
async function rerunStar(host: BatchHost, st: RemoteStatement, args: InArgs | undefined, index: number): Promise<ResultSet> {
  host.release(st);
  st.text = `${st.sql}\n-- libsql-pool: schema ${String(st.schemaVersion)}`;
  try {
    return resultSetFromHrana(await host.stream().query(stmtToHrana(st.text, args)));
  } catch (error) {
    throw batchError(await host.fail(error, false), index);
  }
}

/** A step's promise, awaited only once the batch has its answer: never an unhandled rejection meanwhile. */
function quiet<T>(step: Promise<T>): Promise<T> {
  step.catch(() => undefined);
  return step;
}

function succeeded(step: Promise<unknown>): Promise<boolean> {
  return step.then(
    () => true,
    () => false,
  );
}

/** The client's error for statement `index` of a batch: a `LibsqlError` becomes a `LibsqlBatchError`. */
function batchError(error: unknown, index: number): unknown {
  if (!(error instanceof LibsqlError) || error instanceof LibsqlBatchError) return error;
  return new LibsqlBatchError(
    error.message,
    index,
    error.code,
    error.extendedCode,
    error.rawCode,
    error.cause instanceof Error ? error.cause : undefined,
  );
}
