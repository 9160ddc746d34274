import * as genericPool from 'generic-pool';
import { Pool as TarnPool } from 'tarn';
import type { RawDatabase, RawStatement } from './fixture';

// tarn and generic-pool as the sizing cases compare them: each pools raw
// `libsql` connections, what a user of a generic pool would pool.

/** A raw `libsql` connection with its `select 1` prepared. */
export interface RawResource {
  db: RawDatabase;
  select1: RawStatement;
}

/** How a case opens and closes raw connections (and counts them as it likes). */
export interface RawFactory {
  create(): Promise<RawResource>;
  destroy(resource: RawResource): void;
}

export interface GenericPoolOptions {
  min: number;
  max: number;
  /** Close a connection idle this long, checking every `checkEveryMs`; without it, each pool's default. */
  idle?: { timeoutMs: number; checkEveryMs: number };
}

/** tarn or generic-pool, reduced to what the cases ask of them. */
export interface GenericPool {
  /** Runs `fn` on a connection of the pool, telling `acquired` as soon as it has one. */
  use(fn: (resource: RawResource) => Promise<void> | void, acquired?: () => void): Promise<void>;
  /** The connections the pool itself counts (generic-pool counts one being created; tarn's is not read). */
  size(): number;
  close(): Promise<void>;
}

/** A tarn pool with its `min` connection open: tarn opens nothing up front, so one acquire opens it, as `createPool` does. */
export async function openTarn(factory: RawFactory, o: GenericPoolOptions): Promise<GenericPool> {
  const tarn = new TarnPool<RawResource>({
    create: () => factory.create(),
    destroy: (r) => factory.destroy(r),
    min: o.min,
    max: o.max,
    ...(o.idle ? { idleTimeoutMillis: o.idle.timeoutMs, reapIntervalMillis: o.idle.checkEveryMs } : {}),
    acquireTimeoutMillis: 600_000,
    createTimeoutMillis: 600_000,
  });
  tarn.release(await tarn.acquire().promise);
  return {
    use: async (fn, acquired) => {
      const r = await tarn.acquire().promise;
      acquired?.();
      try {
        await fn(r);
      } finally {
        tarn.release(r);
      }
    },
    size: () => tarn.numUsed() + tarn.numFree() + tarn.numPendingCreates(),
    close: async () => void (await tarn.destroy()),
  };
}

/** A generic-pool with its `min` connection open, as `createPool` opens it. */
export async function openGenericPool(factory: RawFactory, o: GenericPoolOptions): Promise<GenericPool> {
  const generic = genericPool.createPool<RawResource>(
    { create: () => factory.create(), destroy: async (r) => factory.destroy(r) },
    {
      min: o.min,
      max: o.max,
      ...(o.idle
        ? { idleTimeoutMillis: o.idle.timeoutMs, softIdleTimeoutMillis: o.idle.timeoutMs, evictionRunIntervalMillis: o.idle.checkEveryMs }
        : {}),
    },
  );
  await generic.release(await generic.acquire());
  return {
    use: async (fn, acquired) => {
      const r = await generic.acquire();
      acquired?.();
      try {
        await fn(r);
      } finally {
        await generic.release(r);
      }
    },
    size: () => generic.size,
    close: async () => {
      await generic.drain();
      await generic.clear();
    },
  };
}
