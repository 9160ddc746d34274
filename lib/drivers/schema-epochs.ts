/** A counter bumped by DDL (or a rollback) on any connection to one database file. */
export interface SchemaEpoch {
  value: number;
}

/**
 * One schema epoch per database file, shared by every driver in the process
 * that opens it: DDL through any of them makes all re-prepare. Held weakly,
 * so a file that no live driver opens keeps no entry: a service that opens a
 * database per tenant would otherwise keep one for every file it ever opened.
 * Nothing is lost when an entry goes: only a driver holds its epoch, and only
 * that driver's connections compare against it.
 */
const epochs = new Map<string, WeakRef<SchemaEpoch>>();
const forget = new FinalizationRegistry<string>((path) => {
  // The path may have a newer, live epoch by now.
  if (epochs.get(path)?.deref() === undefined) epochs.delete(path);
});

/** The epoch every live driver on `path` shares. */
export function schemaEpochOf(path: string): SchemaEpoch {
  let epoch = epochs.get(path)?.deref();
  if (epoch === undefined) {
    epoch = { value: 0 };
    epochs.set(path, new WeakRef(epoch));
    forget.register(epoch, path);
  }
  return epoch;
}

/** How many database files have an epoch: what the process holds for them. */
export function schemaEpochsHeld(): number {
  return epochs.size;
}
