/**
 * Every benchmark case, in table order. A case is a script under
 * `bench/cases/` that prints one `CaseReport` (see support/protocol.ts);
 * `bench/run.ts` runs each in its own process. To add one, write the script
 * and add an entry here; an entry with `skip` is listed as not run.
 */
export interface CaseEntry {
  key: string;
  title: string;
  /** Path from the repository root. */
  file?: string;
  /** Extra node flags for this case's process. */
  nodeArgs?: string[];
  /** Why the case does not run (yet); it still gets a row in the table. */
  skip?: string;
  /** What it measures, for `npm run bench -- --list`. */
  measures: string;
}

export const CASES: CaseEntry[] = [
  {
    key: 'point-read',
    title: 'Point read by primary key',
    file: 'bench/cases/point-read.ts',
    measures: 'pool.execute vs client.execute vs a cached raw libsql statement (.all, and .get as a reference)',
  },
  {
    key: 'join-read',
    title: 'Join + group read',
    file: 'bench/cases/join-read.ts',
    measures: 't LEFT JOIN u … GROUP BY … LIMIT 1: pool.execute vs client.execute vs cached raw .all',
  },
  {
    key: 'one-off',
    title: 'Each SQL text run once',
    file: 'bench/cases/one-off.ts',
    measures:
      "pool.execute of a new SQL text per call, and a 2,001-statement batch over 200 texts: default admission vs 'always' vs @libsql/client",
  },
  {
    key: 'insert-tx',
    title: 'INSERT inside a transaction',
    file: 'bench/cases/insert-tx.ts',
    measures: '200 inserts per transaction: pool.transaction vs client.transaction vs cached raw .run',
  },
  {
    key: 'acquire-release',
    title: 'Acquire + release, idle connection',
    file: 'bench/cases/acquire-release.ts',
    measures: 'pool.acquire()/release() vs tarn and generic-pool on a trivial resource',
  },
  {
    key: 'concurrent-tx',
    title: '100 concurrent interactive transactions',
    file: 'bench/cases/concurrent-tx.ts',
    measures: '100 write transactions (1 read + 1 insert) launched at once: committed tx/s and errors per side',
  },
  {
    key: 'spike',
    title: 'Spike: 50-request burst, 150 ms connects',
    file: 'bench/cases/spike.ts',
    measures:
      'steady load, then 50 requests at once (150 ms connects, 2 ms queries, real time): peak connections and p99 wait vs tarn and generic-pool',
  },
  {
    key: 'sizing',
    title: 'Sizing under changing load: adaptive vs fixed vs tarn vs generic-pool',
    file: 'bench/cases/sizing.ts',
    measures:
      'steady 1/4/16, square wave, ramp, step (0 and 50 ms connects, real time): throughput, connections opened, time back at min',
  },
  {
    key: 'sizing-recovery',
    title: 'Sizing: back at min, CPU in silence, recovery after a lock episode',
    file: 'bench/cases/sizing-recovery.ts',
    measures:
      'after a burst: time back at min (min 1 and 0), CPU over 3 s of silence vs adaptive: false, and a burst after a SQLITE_BUSY episode and 3 s quiet vs before it',
  },
  {
    key: 'remote',
    title: 'Remote (ws and http against sqld)',
    file: 'bench/cases/remote.ts',
    measures: 'pool.execute vs @libsql/client over ws:// and http:// against a local sqld: sequential and 50 concurrent',
  },
  {
    key: 'memory',
    title: 'Memory: cached statements, 1M checkouts',
    file: 'bench/cases/memory.ts',
    measures: 'heap (and RSS) per cached statement, the cache bound, heap growth over 1,000,000 checkouts',
  },
];
