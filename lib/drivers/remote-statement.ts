import type * as hrana from '@libsql/hrana-client';
import type { DriverStatement } from './driver';
import type { SqlDescription, StatementKind, TransactionEffect } from './sql-text';

/** A statement as the remote driver runs it; stored SQL and schema tracking are the connection's. */
export class RemoteStatement implements DriverStatement {
  readonly sql: string;
  readonly kind: StatementKind;
  /** A read whose columns may follow a table's definition: see `#runStar` in remote-connection.ts. */
  readonly selectsStar: boolean;
  /** What it does to the transaction if it succeeds; one that fails is the connection's `#fail`'s to judge. */
  readonly effect: TransactionEffect;
  /** The text sent: `sql`, or `sql` with a comment naming the schema version (see `#runStar` in remote-connection.ts). */
  text: string;
  /** `PRAGMA schema_version` when this connection last ran it. */
  schemaVersion: unknown = undefined;
  /** The SQL stored on the server, and the stream generation it belongs to. */
  stored: hrana.Sql | undefined;
  generation = -1;
  /** Left the pool's cache: nothing would release SQL stored for it from now on. */
  disposed = false;
  /** Runs once and is released (see `DriverStatement.once`): never stored. */
  once = false;
  dispose: () => void;

  constructor(sql: string, description: SqlDescription, dispose: (st: RemoteStatement) => void) {
    this.sql = sql;
    this.text = sql;
    this.kind = description.kind;
    this.selectsStar = description.selectsStar;
    this.effect = description.effect;
    this.dispose = () => {
      this.disposed = true;
      dispose(this);
    };
  }
}
