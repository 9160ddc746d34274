import { PreparedStatementCache, type ConnectionId } from '../../lib';

/**
 * A diagnostic statement cache: a plain `Map` per connection, with no LRU
 * bookkeeping on a hit. A pool given one (`statementCache: new MapOnlyCache()`)
 * runs the same path as with the real cache minus the recency update, so the
 * difference between the two is what that update costs in place.
 * Unbounded and never cleared: for benchmarks only.
 */
export class MapOnlyCache<S> extends PreparedStatementCache<S> {
  readonly #statements = new Map<ConnectionId, Map<string, S>>();

  override getOrPrepare(connectionId: ConnectionId, sql: string, prepare: () => S): S {
    let byConnection = this.#statements.get(connectionId);
    if (byConnection === undefined) this.#statements.set(connectionId, (byConnection = new Map()));
    let statement = byConnection.get(sql);
    if (statement === undefined) byConnection.set(sql, (statement = prepare()));
    return statement;
  }
}
