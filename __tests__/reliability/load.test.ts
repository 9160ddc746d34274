import { readdirSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createPool } from '../../lib';
import { tempDir } from '../support/helpers';

// Load: 10,000 callers at once on `max: 10`, and the file descriptors of
// closed connections. Timings are printed (LOAD_REPORT=1, or in the soak),
// never asserted: they depend on the machine.

const REPORT = process.env.LOAD_REPORT !== undefined || process.env.SOAK === '1';
/**
 * `global.gc` under `node --expose-gc` (`npm run test:soak`); otherwise the
 * flag is switched on at run time and `gc` taken from a fresh context, so
 * that `npm test` checks descriptors after GC too.
 */
function obtainGc(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed !== undefined) return exposed;
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}
const gc = obtainGc();

async function collect(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

function percentile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const tmp = tempDir();
afterAll(() => tmp.dispose());

describe('load', () => {
  test('10,000 concurrent acquirers on max: 10 all complete, served in FIFO order, with no deadlock', async () => {
    const N = 10_000;
    const pool = await createPool({ url: tmp.url('load.db'), max: 10, acquireTimeoutMs: 60_000 });
    try {
      const served: number[] = [];
      const waitedMs = new Float64Array(N);
      const wrong: number[] = [];
      let held = 0;
      let mostHeld = 0;
      const started = performance.now();
      const callers = Array.from({ length: N }, (_, i) => {
        const calledAt = performance.now();
        return pool.acquire().then(async (lease) => {
          waitedMs[i] = performance.now() - calledAt;
          served.push(i);
          mostHeld = Math.max(mostHeld, ++held);
          try {
            // Hold the lease across a turn of the event loop, so that the
            // callers really contend for the ten connections.
            await new Promise<void>((resolve) => setImmediate(resolve));
            const result = await lease.execute('SELECT ? AS v', [i]);
            if (result.rows[0]!.v !== i) wrong.push(i);
          } finally {
            held--;
            lease.release();
          }
        });
      });
      const midway = pool.stats();
      await Promise.all(callers);
      const totalMs = performance.now() - started;

      // FIFO: acquire() calls resolved in the order they were made.
      expect(served).toHaveLength(N);
      expect(wrong).toEqual([]);
      const outOfOrder = served.findIndex((n, at) => n !== at);
      expect(outOfOrder).toBe(-1);
      expect(midway.waiting).toBeGreaterThan(N - 20);
      expect(mostHeld).toBeLessThanOrEqual(10);
      const s = pool.stats();
      expect(s).toMatchObject({ active: 0, waiting: 0, pending: 0 });
      expect(s.size).toBeLessThanOrEqual(10);
      expect(s.totals.acquired - s.totals.released).toBe(0);
      expect(s.totals.timeouts).toBe(0);

      if (REPORT) {
        const sorted = waitedMs.slice().sort();
        const window = s.acquireWaitMs;
        console.log(
          [
            `10k acquirers on max 10: ${totalMs.toFixed(0)} ms in all, ${(N / (totalMs / 1000)).toFixed(0)} checkouts/s`,
            `  wait (own timestamps, all ${N}): p50 ${percentile(sorted, 0.5).toFixed(1)} ms, ` +
              `p99 ${percentile(sorted, 0.99).toFixed(1)} ms, max ${sorted[N - 1]!.toFixed(1)} ms`,
            `  wait (pool.stats(), last ${window.count}): p50 ${window.p50.toFixed(1)} ms, p99 ${window.p99.toFixed(1)} ms`,
            `  connections opened: ${s.totals.created}`,
          ].join('\n'),
        );
      }
    } finally {
      await pool.close();
    }
  }, 180_000);
});

describe('file descriptors of closed connections', () => {
  // A guard against a hang, not a speed limit: these open and close dozens of
  // connections and collect garbage, which a loaded machine makes slow.
  const HANG_GUARD_MS = 180_000;
  const fdCount = () => readdirSync('/proc/self/fd').length;
  const CYCLES = 8;
  const CONNECTIONS = 4;

  async function cycle(url: string, withStatements: boolean): Promise<void> {
    const pool = await createPool({ url, min: CONNECTIONS, max: CONNECTIONS });
    if (withStatements) {
      const leases = await Promise.all(Array.from({ length: CONNECTIONS }, () => pool.acquire()));
      for (const lease of leases) {
        await lease.execute('CREATE TABLE IF NOT EXISTS t(x)');
        await lease.execute('INSERT INTO t VALUES (?)', [1]);
        await lease.execute('SELECT count(*) AS n FROM t');
        lease.release();
      }
    }
    expect(pool.stats().size).toBe(CONNECTIONS);
    await pool.close();
  }

  test('a pool whose connections never prepared a statement gives back every descriptor at close', async () => {
    const url = tmp.url('fd-plain.db');
    await cycle(url, false); // creates the file (and its -wal, -shm)
    const base = fdCount();
    const after: number[] = [];
    for (let i = 0; i < CYCLES; i++) {
      await cycle(url, false);
      after.push(fdCount() - base);
    }
    if (REPORT) console.log(`fds after each open/close of ${CONNECTIONS} connections (no statements): ${after.join(', ')}`);
    expect(after).toEqual(new Array(CYCLES).fill(0));
  }, HANG_GUARD_MS);

  // libsql keeps a closed connection's file open while any of its statements
  // is alive, and a statement is freed only when it is garbage-collected
  // (libsql has no finalize). The pool drops its
  // references when the connection closes, so the descriptors come back at the
  // next GC. Without GC only the bound holds (the files of the connections
  // closed since the last GC); with it (see obtainGc) they all come back.
  test(`descriptors of closed connections with cached statements come back after GC${gc ? '' : ' (bounded: no gc)'}`, async () => {
    const url = tmp.url('fd-statements.db');
    await cycle(url, true);
    await collect();
    const base = fdCount();
    const after: number[] = [];
    for (let i = 0; i < CYCLES; i++) {
      await cycle(url, true);
      after.push(fdCount() - base);
    }
    // At most a database file, its WAL and its shared memory per connection closed since the last GC.
    expect(Math.max(...after)).toBeLessThanOrEqual(3 * CONNECTIONS * CYCLES);
    let afterGc: number | undefined;
    if (gc !== undefined) {
      await collect();
      afterGc = fdCount() - base;
      expect(afterGc).toBeLessThanOrEqual(0);
    }
    if (REPORT) {
      console.log(
        `fds above baseline after each open/close of ${CONNECTIONS} connections with statements: ${after.join(', ')}` +
          (afterGc === undefined ? ' (no gc available)' : `; after gc: ${afterGc}`),
      );
    }
  }, HANG_GUARD_MS);

  // What the whole-pool cycles above cannot see: a pool that stays open and
  // retires connections one by one (maxUses, idle, errors). SQLite's unix VFS
  // does not close the file of a connection closed while another connection
  // of the process holds a lock on it (every WAL connection holds one): it
  // parks the descriptor, reuses it for the next connection it opens to that
  // file, and closes the rest when the last connection closes. Retired
  // connections therefore hold parked descriptors up to the number retired
  // between two collections (libsql closes for real only once their statements
  // are collected), bounded, not growing with the run, and all come back at close.
  test('a pool that stays open keeps descriptors of retired connections bounded, and gives all back at close', async () => {
    if (gc === undefined) throw new Error('needs gc');
    const pool = await createPool({ url: tmp.url('fd-churn.db'), min: 1, max: 1, maxUses: 100 });
    let closedPool = false;
    try {
      await pool.execute('CREATE TABLE kv(k INTEGER PRIMARY KEY, v)');
      await collect();
      const base = fdCount();
      const perRound: number[] = [];
      for (let round = 0; round < 5; round++) {
        for (let i = 0; i < 2_000; i++) await pool.use((lease) => lease.execute('SELECT v FROM kv WHERE k = ?', [i % 10]));
        await collect();
        perRound.push(fdCount() - base);
      }
      const retired = pool.stats().totals.closed.maxUses;
      if (REPORT) console.log(`fds after each round of 20 retirements in an open pool, after gc: ${perRound.join(', ')}`);
      expect(retired).toBe(100);
      // At most the connections retired in one round (20), however many rounds: parked
      // descriptors are reused, not accumulated (100 retirements in all).
      expect(Math.max(...perRound)).toBeLessThanOrEqual(20 + 1);
      expect(perRound.at(-1)).toBeLessThanOrEqual(perRound[0]! + 1);
      await pool.close();
      closedPool = true;
      await collect();
      expect(fdCount() - base).toBeLessThanOrEqual(0);
    } finally {
      if (!closedPool) await pool.close();
    }
  }, HANG_GUARD_MS);
});
