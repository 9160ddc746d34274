import type { DriverConnection } from './drivers/driver';
import { describeScript, describeSql, type SessionTouch } from './drivers/sql-text';

// What the pool reads from SQL text to know that a lease changed its
// connection's session. Kept apart from session.ts, which lends connections
// to hooks, so that leases can import it without a cycle.

/**
 * One part of a connection's session the pool restores: a setting (by its
 * PRAGMA name), `temp` (the TEMP objects) or `attached` (the attached databases).
 */
export type SessionItem = string;

/** What a statement changes: the items it touches, or `undefined` for none (most statements). */
export type SessionChange = readonly SessionItem[] | undefined;

/** Told by a lease just before it runs a statement that changes the session. @internal */
export interface SessionTracker {
  beforeChange(connection: DriverConnection, change: readonly SessionItem[]): void;
}

export const TEMP_OBJECTS: SessionItem = 'temp';
export const ATTACHED: SessionItem = 'attached';

/**
 * The per-connection settings the pool puts back, main database only. Chosen
 * because a caller may plausibly set them and the next caller would be hurt:
 * the pool's own `busy_timeout` (0 on files: a non-zero one sleeps inside
 * SQLite and freezes the process), query semantics (`query_only`, foreign
 * keys, triggers, CHECK constraints, ordering, `ALTER` and schema trust),
 * durability and locking (`synchronous`, `locking_mode`), and resources
 * (`temp_store`, `cache_size`). Each can be read back through its `pragma_*`
 * table-valued function. In the order they are restored: `temp_store` first,
 * since changing it drops every TEMP object, which the check afterwards sees.
 */
export const RESTORED_PRAGMAS: readonly string[] = Object.freeze([
  'temp_store',
  'busy_timeout',
  'foreign_keys',
  'defer_foreign_keys',
  'recursive_triggers',
  'ignore_check_constraints',
  'reverse_unordered_selects',
  'legacy_alter_table',
  'trusted_schema',
  'writable_schema',
  'read_uncommitted',
  'automatic_index',
  'cell_size_check',
  'synchronous',
  'locking_mode',
  'cache_size',
  // Last: while it is on, the TEMP objects to drop could not be dropped.
  'query_only',
]);

const RESTORED = new Set(RESTORED_PRAGMAS);
/** Settings SQLite lets one set but not read back: the pool cannot know what to restore. */
export const UNREADABLE_PRAGMAS: readonly string[] = Object.freeze(['case_sensitive_like']);
const UNREADABLE = new Set(UNREADABLE_PRAGMAS);

/** Whether the pool cannot restore `item` (it closes the connection instead). */
export function isUnrestorable(item: SessionItem): boolean {
  return UNREADABLE.has(item);
}

const ONLY_TEMP: readonly SessionItem[] = Object.freeze([TEMP_OBJECTS]);
const ONLY_ATTACHED: readonly SessionItem[] = Object.freeze([ATTACHED]);

/**
 * Reads a statement's text for a change to the session state the pool
 * restores: a PRAGMA assignment to a restored setting (explained or not,
 * since SQLite applies many as it prepares them), ATTACH, DETACH, or a
 * CREATE, DROP or ALTER that mentions TEMP. Lexical and deliberately loose: a
 * false positive costs a check at checkin, a miss would leak state. The pool
 * calls it only when a statement is prepared, never on a cache hit.
 */
export function sessionChange(sql: string): SessionChange {
  return changeOf(describeSql(sql).session);
}

/** `sessionChange` for a `;`-separated script (`executeMultiple`), which is not split. */
export function scriptChange(sql: string): SessionChange {
  return changeOf(describeScript(sql));
}

function changeOf(touch: SessionTouch | undefined): SessionChange {
  if (touch === undefined) return undefined;
  if (touch.pragmas.length === 0) {
    if (!touch.attached) return ONLY_TEMP;
    if (!touch.temp) return ONLY_ATTACHED;
  }
  const items: SessionItem[] = [];
  if (touch.temp) items.push(TEMP_OBJECTS);
  if (touch.attached) items.push(ATTACHED);
  for (const name of touch.pragmas) {
    if (!RESTORED.has(name) && !UNREADABLE.has(name)) continue;
    items.push(name);
    // Changing it drops every TEMP object, those of the setup included.
    if (name === 'temp_store') items.push(TEMP_OBJECTS);
  }
  return items.length === 0 ? undefined : items;
}
