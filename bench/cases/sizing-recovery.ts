import { createPool, type AdaptiveConnectionPool, type MaxChangeEvent } from '../../lib';
import { createFixture, openRaw } from '../support/fixture';
import { emitReport, type Comparison } from '../support/protocol';

/**
 * What the pool does after a burst, in real time (a benchmark, not a test):
 *
 *  1. back at min: how long after the last release of a 16-connection burst
 *     the pool is back at `min` (min 1, and min 0), against 1.5 × idleTimeoutMs;
 *  2. CPU in silence: process CPU (user + system) over SILENCE_MS of silence
 *     after a burst, libsql-pool adaptive vs the fixed pool (`adaptive: false`),
 *     the same pools one after the other, rounds alternated;
 *  3. after a lock episode: another connection holds the write lock, LOCK_WRITERS
 *     pool writers give up with SQLITE_BUSY after busyTimeoutMs (back-pressure
 *     halves the effective maximum), then QUIET_MS of quiet: a burst needing
 *     every connection is timed before and after the episode, from the same
 *     state (the pool back at min after QUIET_MS), and `effectiveMax` is read.
 *
 * Every pool: a local file, no connect delay, max MAX, busyTimeoutMs BUSY_MS
 * and idleTimeoutMs IDLE_MS (as in the sizing case).
 */
const MAX = 16;
const IDLE_MS = 200;
const BUSY_MS = 100;
const HOLD_MS = 20;
const SILENCE_MS = Number(process.env.BENCH_RECOVERY_SILENCE_MS ?? 3000);
const QUIET_MS = Number(process.env.BENCH_RECOVERY_QUIET_MS ?? 3000);
const BACK_RUNS = 3;
const CPU_ROUNDS = 5;
const LOCK_ROUNDS = Number(process.env.BENCH_RECOVERY_LOCK_ROUNDS ?? 5);
/** The lock episode's pool: a burst of LOCK_MAX needs every connection, so a halved maximum would show. */
const LOCK_MAX = 8;
const LOCK_WRITERS = 8;
const LOCK_HOLD_MS = 400;
/** Goals. */
const BACK_GOAL = 1.5;
const CPU_GOAL = 1.5;
const LOCK_GOAL = 1.1;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

const fmt = (n: number) => `${n.toFixed(1)} ms`;

function open(url: string, opts: { min: number; max: number; adaptive: boolean }): Promise<AdaptiveConnectionPool> {
  return createPool({ url, ...opts, idleTimeoutMs: IDLE_MS, busyTimeoutMs: BUSY_MS });
}

/** `n` requests at once, each holding its connection for `select 1` plus HOLD_MS. Returns the time until all are done. */
async function burst(pool: AdaptiveConnectionPool, n: number): Promise<number> {
  const start = performance.now();
  await Promise.all(
    Array.from({ length: n }, () =>
      pool.use(async (c) => {
        await c.execute('select 1');
        await sleep(HOLD_MS);
      }),
    ),
  );
  return performance.now() - start;
}

/** ms from the last release of a MAX burst until `size <= min` with nothing opening, or null within 5 × IDLE_MS. */
async function backAtMin(url: string, min: number, adaptive: boolean): Promise<{ ms: number | null; peak: number }> {
  const pool = await open(url, { min, max: MAX, adaptive });
  let peak = 0;
  pool.on('resize', (e) => (peak = Math.max(peak, e.to)));
  await burst(pool, MAX);
  const lastRelease = performance.now();
  let ms: number | null = null;
  while (performance.now() - lastRelease < 5 * IDLE_MS) {
    const s = pool.stats();
    if (s.size <= min && s.pending === 0) {
      ms = performance.now() - lastRelease;
      break;
    }
    await sleep(2);
  }
  await pool.close();
  return { ms, peak };
}

/** CPU ms (user + system) of this process over SILENCE_MS after a burst; `null` pool = the process alone. */
async function silentCpu(url: string, adaptive: boolean | null): Promise<number> {
  const pool = adaptive === null ? undefined : await open(url, { min: 1, max: MAX, adaptive });
  if (pool !== undefined) await burst(pool, MAX);
  gc();
  const before = process.cpuUsage();
  await sleep(SILENCE_MS);
  const used = process.cpuUsage(before);
  await pool?.close();
  return (used.user + used.system) / 1000;
}

interface LockRound {
  beforeMs: number;
  afterMs: number;
  sizeBefore: number;
  sizeAfter: number;
  busyErrors: number;
  maxAfterEpisode: number;
  maxAfterQuiet: number;
  changes: string;
}

async function lockRounds(url: string, path: string): Promise<LockRound[]> {
  const pool = await open(url, { min: 1, max: LOCK_MAX, adaptive: true });
  const changes: Array<MaxChangeEvent & { at: number }> = [];
  pool.on('maxChanged', (e) => changes.push({ ...e, at: performance.now() }));
  const holder = openRaw(path);
  const rounds: LockRound[] = [];
  try {
    await burst(pool, LOCK_MAX); // warm-up: statements prepared, timers and code paths hot
    for (let round = 0; round < LOCK_ROUNDS; round++) {
      await sleep(QUIET_MS);
      const sizeBefore = pool.stats().size;
      const beforeMs = await burst(pool, LOCK_MAX);
      // The episode: another connection holds the write lock; every pool writer gives up after BUSY_MS.
      const from = changes.length;
      const episodeStart = performance.now();
      holder.exec('BEGIN IMMEDIATE');
      holder.exec("INSERT INTO w(name, value) VALUES ('holder', 0)");
      const writers = Array.from({ length: LOCK_WRITERS }, (_, i) =>
        pool.execute('INSERT INTO w(name, value) VALUES (?, ?)', [`writer ${i}`, i]).then(
          () => 0,
          () => 1,
        ),
      );
      await sleep(LOCK_HOLD_MS);
      holder.exec('COMMIT');
      const busyErrors = (await Promise.all(writers)).reduce((a: number, b: number) => a + b, 0);
      const maxAfterEpisode = Math.min(...changes.slice(from).map((c) => c.to), pool.stats().effectiveMax);
      await sleep(QUIET_MS);
      const maxAfterQuiet = pool.stats().effectiveMax;
      const sizeAfter = pool.stats().size;
      const afterMs = await burst(pool, LOCK_MAX);
      const rel = (at: number) => `+${Math.round(at - episodeStart)}`;
      rounds.push({
        beforeMs,
        afterMs,
        sizeBefore,
        sizeAfter,
        busyErrors,
        maxAfterEpisode,
        maxAfterQuiet,
        changes: changes
          .slice(from)
          .map((c) => `${c.from}->${c.to} ${c.reason} @${rel(c.at)} ms`)
          .join(', '),
      });
      process.stderr.write(
        `    lock round ${round + 1}: burst before ${fmt(beforeMs)} (size ${sizeBefore}), after ${fmt(afterMs)} (size ${sizeAfter}); ` +
          `${busyErrors}/${LOCK_WRITERS} writers got SQLITE_BUSY; effectiveMax ${maxAfterEpisode} after the episode, ` +
          `${maxAfterQuiet} after ${QUIET_MS} ms quiet; maxChanged: ${rounds.at(-1)!.changes || 'none'}\n`,
      );
    }
  } finally {
    holder.close();
    await pool.close();
  }
  return rounds;
}

async function main(): Promise<void> {
  const started = performance.now();
  const fx = createFixture();
  const comparisons: Comparison[] = [];
  const metrics: Record<string, number | string | boolean> = {};
  try {
    // 1. Back at min.
    for (const min of [1, 0]) {
      const runs = { adaptive: [] as Array<number | null>, fixed: [] as Array<number | null> };
      let peak = 0;
      for (let i = 0; i < BACK_RUNS; i++) {
        for (const adaptive of i % 2 === 0 ? [true, false] : [false, true]) {
          const r = await backAtMin(fx.url, min, adaptive);
          (adaptive ? runs.adaptive : runs.fixed).push(r.ms);
          if (adaptive) peak = Math.max(peak, r.peak);
        }
      }
      const worst = (xs: Array<number | null>) => (xs.some((x) => x === null) ? Number.POSITIVE_INFINITY : Math.max(...(xs as number[])));
      const list = (xs: Array<number | null>) => xs.map((x) => (x === null ? `> ${5 * IDLE_MS} ms` : fmt(x))).join(', ');
      const w = worst(runs.adaptive);
      const ratio = w / IDLE_MS;
      process.stderr.write(`  back at min ${min}: adaptive ${list(runs.adaptive)}; fixed ${list(runs.fixed)}\n`);
      comparisons.push({
        subject: 'pool',
        baseline: 'idleTimeoutMs',
        ratio,
        goal: BACK_GOAL,
        goalText: `back at min within ${BACK_GOAL} × idleTimeoutMs after the last release (slowest of ${BACK_RUNS} runs / ${IDLE_MS} ms, lower is better)`,
        met: ratio <= BACK_GOAL,
        subjectCell:
          `back at min ${min} after a burst of ${MAX} (peak ${peak} open) · libsql-pool: ` +
          (Number.isFinite(w) ? `slowest ${fmt(w)}` : 'not within the watch') +
          ` (runs ${list(runs.adaptive)})`,
        baselineCell: `idleTimeoutMs ${IDLE_MS} ms; fixed (adaptive: false): ${list(runs.fixed)}`,
      });
      metrics[`backAtMin${min}.adaptiveMs`] = JSON.stringify(runs.adaptive.map((x) => (x === null ? 'never' : Number(x.toFixed(1)))));
      metrics[`backAtMin${min}.fixedMs`] = JSON.stringify(runs.fixed.map((x) => (x === null ? 'never' : Number(x.toFixed(1)))));
    }

    // 2. CPU in silence.
    const cpu = { adaptive: [] as number[], fixed: [] as number[], none: [] as number[] };
    for (let i = 0; i < CPU_ROUNDS; i++) {
      const order: Array<keyof typeof cpu> = i % 2 === 0 ? ['adaptive', 'fixed', 'none'] : ['fixed', 'adaptive', 'none'];
      for (const k of order) cpu[k].push(await silentCpu(fx.url, k === 'none' ? null : k === 'adaptive'));
    }
    const cpuA = median(cpu.adaptive);
    const cpuF = median(cpu.fixed);
    const cpuRatio = cpuA / cpuF;
    const cpuList = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(', ');
    process.stderr.write(`  CPU in ${SILENCE_MS} ms of silence: adaptive ${cpuList(cpu.adaptive)}; fixed ${cpuList(cpu.fixed)}; no pool ${cpuList(cpu.none)} ms\n`);
    comparisons.push({
      subject: 'pool',
      baseline: 'fixed',
      ratio: cpuRatio,
      goal: CPU_GOAL,
      goalText: `CPU in silence <= ${CPU_GOAL}x the fixed pool's (median of ${CPU_ROUNDS}, lower is better)`,
      met: cpuRatio <= CPU_GOAL,
      subjectCell: `CPU (user + system) over ${SILENCE_MS} ms of silence after a burst of ${MAX} · libsql-pool: ${cpuA.toFixed(1)} ms (runs ${cpuList(cpu.adaptive)})`,
      baselineCell: `fixed (adaptive: false): ${cpuF.toFixed(1)} ms (runs ${cpuList(cpu.fixed)}); the process with no pool: ${median(cpu.none).toFixed(1)} ms (runs ${cpuList(cpu.none)})`,
    });
    metrics['cpuSilence.adaptiveMs'] = JSON.stringify(cpu.adaptive.map((x) => Number(x.toFixed(2))));
    metrics['cpuSilence.fixedMs'] = JSON.stringify(cpu.fixed.map((x) => Number(x.toFixed(2))));
    metrics['cpuSilence.noPoolMs'] = JSON.stringify(cpu.none.map((x) => Number(x.toFixed(2))));

    // 3. After a lock episode.
    const rounds = await lockRounds(fx.url, fx.path);
    const before = median(rounds.map((r) => r.beforeMs));
    const after = median(rounds.map((r) => r.afterMs));
    const lockRatio = after / before;
    const backAtMax = rounds.every((r) => r.maxAfterQuiet === LOCK_MAX);
    const halved = rounds.filter((r) => r.maxAfterEpisode < LOCK_MAX).length;
    comparisons.push({
      subject: 'pool',
      baseline: 'before',
      ratio: lockRatio,
      goal: LOCK_GOAL,
      goalText: `burst after a lock episode and ${QUIET_MS} ms quiet <= ${LOCK_GOAL}x as long as before (medians of ${LOCK_ROUNDS}), and effectiveMax back at max`,
      met: lockRatio <= LOCK_GOAL && backAtMax,
      subjectCell:
        `after a lock episode (busyTimeoutMs ${BUSY_MS}, idleTimeoutMs ${IDLE_MS}, max ${LOCK_MAX}) · libsql-pool: ` +
        `burst of ${LOCK_MAX} in ${fmt(after)} after; effectiveMax ${rounds.map((r) => r.maxAfterQuiet).join(', ')} after the quiet ` +
        `(${halved}/${rounds.length} episodes halved it, to ${rounds.map((r) => r.maxAfterEpisode).join(', ')})`,
      baselineCell: `the same burst before the episode: ${fmt(before)}`,
      note:
        `per round, before / after: ${rounds.map((r) => `${r.beforeMs.toFixed(1)} / ${r.afterMs.toFixed(1)}`).join(', ')} ms; ` +
        `writers that got SQLITE_BUSY: ${rounds.map((r) => r.busyErrors).join(', ')} of ${LOCK_WRITERS}; ` +
        `maxChanged (time from the episode's start): ${rounds.map((r) => r.changes || 'none').join(' | ')}`,
    });
    metrics['lock.rounds'] = JSON.stringify(rounds);
  } finally {
    fx.cleanup();
  }
  emitReport({
    case: 'sizing-recovery',
    title: 'Sizing: back at min, CPU in silence, recovery after a lock episode',
    status: 'ok',
    variants: [],
    comparisons,
    metrics,
    notes: [
      `Real time, a local file, no connect delay; request = select 1 + ${HOLD_MS} ms holding the connection. ` +
        `Back at min: a burst of ${MAX} on a pool {min 1 or 0, max ${MAX}, idleTimeoutMs ${IDLE_MS}}, then stats().size polled ` +
        `every 2 ms until it is at min with nothing opening (${BACK_RUNS} runs each of libsql-pool and adaptive: false, alternated). ` +
        `CPU: process.cpuUsage() over ${SILENCE_MS} ms after a burst of ${MAX} and a full GC, the pools one after the other in ` +
        `one process (${CPU_ROUNDS} rounds, order alternated), and the process with no pool as a floor. ` +
        `Lock episode: pool {min 1, max ${LOCK_MAX}, busyTimeoutMs ${BUSY_MS}, idleTimeoutMs ${IDLE_MS}}; a raw libsql ` +
        `connection runs BEGIN IMMEDIATE and an insert and holds the lock ${LOCK_HOLD_MS} ms while ${LOCK_WRITERS} pool inserts ` +
        `wait; then ${QUIET_MS} ms quiet. The burst (${LOCK_MAX} requests at once) is timed after ${QUIET_MS} ms quiet both ` +
        `before and after the episode, so the pool starts from the same size; ${LOCK_ROUNDS} rounds on one pool.`,
    ],
    env: { max: MAX, idleMs: IDLE_MS, busyMs: BUSY_MS, holdMs: HOLD_MS, silenceMs: SILENCE_MS, quietMs: QUIET_MS, lockMax: LOCK_MAX },
    durationMs: Math.round(performance.now() - started),
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
