import type { ResultSet } from '@libsql/client';
import type { CheckinEvent, CloseReason, ConnectionId } from '../events';
import type { AfterConnectHook, AfterReleaseHook } from '../session';
import type { DriverConnection, DriverStatement } from '../drivers/driver';
import { PooledConnection, type LeaseEnd } from './pooled-connection';
import {
  ATTACHED,
  RESTORED_PRAGMAS,
  TEMP_OBJECTS,
  isUnrestorable,
  type SessionItem,
  type SessionTracker,
} from '../session-change';
import type { PreparedStatementCache } from '../statement-cache';

/** How an item is read, as one value of a JSON object (item names come from fixed lists). */
function itemExpression(item: SessionItem): string {
  if (item === TEMP_OBJECTS) {
    // SQLite's own objects (an AUTOINCREMENT sequence, automatic indexes) come and go with the user's.
    return (
      `json((SELECT json_group_array(json_array(type, name)) FROM (SELECT type, name FROM temp.sqlite_master ` +
      `WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name)))`
    );
  }
  if (item === ATTACHED) {
    return (
      `json((SELECT json_group_array(name) FROM (SELECT name FROM pragma_database_list ` +
      `WHERE name NOT IN ('main', 'temp') ORDER BY name)))`
    );
  }
  return `(SELECT * FROM pragma_${item})`;
}

/** Every item, in the order they are restored (`query_only`, last, is handled apart). */
const ITEM_ORDER: readonly SessionItem[] = [...RESTORED_PRAGMAS, TEMP_OBJECTS, ATTACHED];

/** Tables first: dropping one drops its indexes and triggers, which `IF EXISTS` then skips. */
const DROP_ORDER = ['table', 'view', 'trigger', 'index'];

/** Most of the pool's own statements kept prepared per connection (see `SessionRecord.statements`). */
const MAX_KEPT_STATEMENTS = 16;

/** What the pool knows of one connection's session. */
interface SessionRecord {
  /**
   * The pool's own statements on this connection (reads of the items changed,
   * setting fixes: a few texts), prepared once: `libsql` frees a statement
   * only when it is garbage-collected, and a PRAGMA assignment walks every
   * live one.
   */
  readonly statements: Map<string, DriverStatement>;
  /**
   * Each item's value just before its first change, read then: until a lease
   * changes an item it keeps the value the setup left, so this is what the
   * setup left, and only what leases touch is ever read.
   */
  readonly baseline: Map<SessionItem, Promise<unknown>>;
  /** Items changed since the last restore. */
  readonly changed: Set<SessionItem>;
}

/** How a checkin ended for the connection: `undefined` keeps it. */
export type SessionVerdict = { reason: CloseReason; error?: unknown } | undefined;

/**
 * Keeps what one lease did to a connection's session from reaching the next:
 * runs the setup hook on new connections, records the state they were set up
 * with just before the first change, and restores it at checkin.
 */
export class SessionKeeper implements SessionTracker {
  readonly #cache: PreparedStatementCache<DriverStatement> | false;
  readonly #afterConnect: AfterConnectHook | undefined;
  readonly #afterRelease: AfterReleaseHook | undefined;
  readonly #records = new WeakMap<DriverConnection, SessionRecord>();

  constructor(
    cache: PreparedStatementCache<DriverStatement> | false,
    afterConnect: AfterConnectHook | undefined,
    afterRelease: AfterReleaseHook | undefined,
  ) {
    this.#cache = cache;
    this.#afterConnect = afterConnect;
    this.#afterRelease = afterRelease;
  }

  /**
   * Whether a checkin has anything to do: the lease changed the session, or
   * there is a checkin hook. A plain lease costs nothing at checkin.
   */
  wantsCheckin(how: LeaseEnd): boolean {
    return !how.destroy && (how.changed === true || this.#afterRelease !== undefined);
  }

  /**
   * Runs `afterConnect` on a new connection. If it throws, the connection is
   * closed (and its cached statements dropped) and the error is rethrown.
   */
  async setUp(connectionId: ConnectionId, connection: DriverConnection): Promise<void> {
    const hook = this.#afterConnect;
    if (hook === undefined) return;
    // Its changes are the state to keep, so none is recorded; a statement that
    // changes the session is still kept out of the cache (see PooledConnection).
    const setup = new PooledConnection(connectionId, connection, this.#cache, SETUP);
    try {
      await hook(setup);
      // A transaction the setup left open would be the first caller's.
      if (connection.inTransaction()) await connection.rollback();
    } catch (error) {
      if (this.#cache !== false) this.#cache.clearConnection(connectionId);
      connection.close();
      throw error;
    } finally {
      setup.release();
    }
  }

  /**
   * A lease is about to change `items`. The value of each not yet changed on
   * this connection is read first: the read is sent now, before the change,
   * and awaited only at checkin, so statements keep their order.
   */
  beforeChange(connection: DriverConnection, items: readonly SessionItem[]): void {
    let record = this.#records.get(connection);
    if (record === undefined) {
      record = { statements: new Map(), baseline: new Map(), changed: new Set() };
      this.#records.set(connection, record);
    }
    const unread = [...new Set(items)].filter((item) => !record.baseline.has(item) && !isUnrestorable(item));
    if (unread.length > 0) {
      const values = readItems(connection, unread, record.statements);
      for (const item of unread) {
        const value = values.then((read) => read[item]);
        // Awaited at checkin, where a failure closes the connection; not unhandled meanwhile.
        value.catch(ignore);
        record.baseline.set(item, value);
      }
    }
    for (const item of items) record.changed.add(item);
  }

  /**
   * What a checkin has to do, or `undefined` when there is nothing: no hook,
   * and no change recorded. Never rejects.
   */
  checkin(connectionId: ConnectionId, connection: DriverConnection, info: CheckinEvent): Promise<SessionVerdict> | undefined {
    if (this.#afterRelease === undefined && (this.#records.get(connection)?.changed.size ?? 0) === 0) return undefined;
    return this.#checkin(connectionId, connection, info);
  }

  async #checkin(connectionId: ConnectionId, connection: DriverConnection, info: CheckinEvent): Promise<SessionVerdict> {
    try {
      const hook = this.#afterRelease;
      if (hook !== undefined) {
        // Before the restore: the hook sees what the caller left, and what it
        // changes itself is undone with the rest.
        const check = new PooledConnection(connectionId, connection, this.#cache, this);
        let keep: boolean;
        try {
          keep = await hook(check, info);
        } finally {
          check.release();
        }
        if (keep !== true) return { reason: 'unhealthy' };
        if (connection.inTransaction()) await connection.rollback();
      }
      const record = this.#records.get(connection);
      if (record === undefined || record.changed.size === 0) return undefined;
      const lost = [...record.changed].find(isUnrestorable);
      if (lost !== undefined) {
        return { reason: 'error', error: new Error(`A lease set ${lost}, which cannot be read back to be restored`) };
      }
      await restore(connection, record);
      record.changed.clear();
      return undefined;
    } catch (error) {
      return { reason: 'error', error };
    }
  }
}

/** The tracker of a setup hook's connection: its changes are the baseline, not something to undo. */
const SETUP: SessionTracker = { beforeChange: () => undefined };

function ignore(): void {}

/** Runs `sql`, kept prepared in `reuse` while it has room, else prepared for this run only. */
async function run(connection: DriverConnection, sql: string, reuse?: Map<string, DriverStatement>): Promise<ResultSet> {
  let statement = reuse?.get(sql);
  const keep = statement !== undefined || (reuse !== undefined && reuse.size < MAX_KEPT_STATEMENTS);
  if (statement === undefined) {
    statement = connection.prepare(sql);
    if (keep) reuse!.set(sql, statement);
  }
  try {
    return await connection.execute(statement, undefined);
  } finally {
    if (!keep) statement.dispose?.();
  }
}

/** The current values of `items`, in one query. */
async function readItems(
  connection: DriverConnection,
  items: readonly SessionItem[],
  reuse: Map<string, DriverStatement>,
): Promise<Record<SessionItem, unknown>> {
  const sql = `SELECT json_object(${items.map((item) => `'${item}', ${itemExpression(item)}`).join(', ')})`;
  return JSON.parse(String((await run(connection, sql, reuse)).rows[0]![0])) as Record<SessionItem, unknown>;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Puts the changed items back to their baseline: settings, then TEMP objects
 * and attached databases the baseline lacks. Reads them again after changing
 * anything, and throws if they still differ (a setup's TEMP table dropped, a
 * setup's database detached): such a connection is closed.
 */
async function restore(connection: DriverConnection, record: SessionRecord): Promise<void> {
  const reuse = record.statements;
  const items = ITEM_ORDER.filter((item) => record.changed.has(item));
  const want: Record<SessionItem, unknown> = {};
  for (const item of items) want[item] = await record.baseline.get(item);
  const objects = items.includes(TEMP_OBJECTS) || items.includes(ATTACHED);
  // While `query_only` is on, TEMP objects cannot be dropped: read it too, set it last.
  const read = objects && !items.includes('query_only') ? [...items, 'query_only'] : items;
  const have = await readItems(connection, read, reuse);
  const differs = items.filter((item) => !same(have[item], want[item]));
  if (differs.length === 0) return;
  const keepObjects = new Set((want[TEMP_OBJECTS] as [string, string][] | undefined)?.map(([type, name]) => `${type} ${name}`));
  const drops = differs.includes(TEMP_OBJECTS)
    ? (have[TEMP_OBJECTS] as [string, string][])
        .filter(([type, name]) => !keepObjects.has(`${type} ${name}`) && DROP_ORDER.includes(type))
        .sort((a, b) => DROP_ORDER.indexOf(a[0]) - DROP_ORDER.indexOf(b[0]))
    : [];
  const keepAttached = new Set(want[ATTACHED] as string[] | undefined);
  const detaches = differs.includes(ATTACHED) ? (have[ATTACHED] as string[]).filter((name) => !keepAttached.has(name)) : [];
  const queryOnly = items.includes('query_only') ? want.query_only : have.query_only;
  let queryOnlyNow = have.query_only;
  if ((drops.length > 0 || detaches.length > 0) && queryOnlyNow !== 0) {
    await run(connection, 'PRAGMA query_only = 0', reuse);
    queryOnlyNow = 0;
  }
  for (const item of differs) {
    if (RESTORED_PRAGMAS.includes(item) && item !== 'query_only') {
      await run(connection, `PRAGMA ${item} = ${literal(want[item])}`, reuse);
    }
  }
  for (const [type, name] of drops) await run(connection, `DROP ${type.toUpperCase()} IF EXISTS temp.${quoteId(name)}`);
  for (const name of detaches) await run(connection, `DETACH DATABASE ${quoteId(name)}`);
  if (queryOnlyNow !== queryOnly) await run(connection, `PRAGMA query_only = ${literal(queryOnly)}`, reuse);
  // SQLite lets go of a lock `locking_mode = EXCLUSIVE` kept only at the next read of the database.
  if (differs.includes('locking_mode')) await run(connection, 'SELECT 1 FROM main.sqlite_master LIMIT 1', reuse);
  const after = await readItems(connection, items, reuse);
  const still = items.filter((item) => !same(after[item], want[item]));
  if (still.length > 0) {
    const describe = (item: SessionItem) => `${item} is ${JSON.stringify(after[item])}, not ${JSON.stringify(want[item])}`;
    throw new Error(`Could not restore the session: ${still.map(describe).join('; ')}`);
  }
}

function literal(value: unknown): string {
  if (typeof value === 'number' && Number.isInteger(value)) return String(value);
  if (typeof value === 'string' && /^\w+$/.test(value)) return value;
  throw new Error(`Unexpected setting value ${JSON.stringify(value)}`);
}

function quoteId(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
