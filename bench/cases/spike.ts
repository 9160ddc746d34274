import { createPool, type ResizeEvent } from '../../lib';
import { createFixture, openRaw } from '../support/fixture';
import { openGenericPool, openTarn, type GenericPool, type RawResource } from '../support/generic-pools';
import { emitReport, type Comparison } from '../support/protocol';
import { SlowConnectDriver } from '../support/slow-driver';

/**
 * A burst on top of a steady load, in real time (a benchmark, not a test).
 *
 * Every pool opens connections that cost CONNECT_MS (a timer before a real
 * `libsql` connection opens) and serves requests that hold a connection for
 * `select 1` plus QUERY_MS (a timer: a local `select 1` takes microseconds).
 *
 * One run, per pool (fresh each time):
 *  1. steady phase: STEADY_LOOPS closed loops of back-to-back requests for
 *     STEADY_MS, so libsql-pool's controller has measured connect and hold
 *     times and the steady demand;
 *  2. burst: BURST requests fired at once while the steady loops go on;
 *  3. aftermath: the steady loops go on for TAIL_MS after the last burst
 *     request is done, so connections opened *because of* the burst (after it)
 *     are counted too.
 *
 * Connections are counted open *or opening*, from the moment the pool asks for
 * one: the pool pays for a connect when it starts it, and a connect that
 * finishes after the burst is still the burst's. Runs are interleaved (the
 * order rotates each repetition) and every figure is the median of REPS runs.
 *
 * A diagnostic run, libsql-pool with `adaptive: false`, times the same burst
 * with back-pressure handling off (the sizing rule is the same); the note of a
 * missed wait goal uses it.
 */
const CONNECT_MS = 150;
const QUERY_MS = 2;
const BURST = 50;
const STEADY_LOOPS = 5;
const STEADY_MS = Number(process.env.BENCH_SPIKE_STEADY_MS ?? 1500);
/** Steady phase measured for Little's law from here on (connections are opened by then). */
const STEADY_SKIP_MS = 500;
/**
 * The aftermath: 1.25 s after the burst shows whether the pool opens anything
 * once nobody waits (README "Adaptive sizing": it must not).
 */
const TAIL_MS = Number(process.env.BENCH_SPIKE_TAIL_MS ?? 1250);
const REPS = Number(process.env.BENCH_SPIKE_REPS ?? 5);
const SAMPLE_EVERY_MS = 5;
/** Goal: peak connections at most this multiple of the steady-state need. */
const PEAK_GOAL = 1.2;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `libsql-pool-fixed` is a diagnostic: the same pool with `adaptive: false`, to split its wait into scheduling cost. */
type PoolName = 'libsql-pool' | 'tarn' | 'generic-pool' | 'libsql-pool-fixed';
/** The diagnostic only needs the burst itself, not the aftermath, and fewer runs. */
const DIAG_TAIL_MS = 200;
const DIAG_REPS = Math.min(3, Number(process.env.BENCH_SPIKE_REPS ?? 5));

/** One pool under test, driven the same way whatever it is. */
interface Subject {
  /** One request: get a connection, `select 1`, hold it QUERY_MS more, give it back. `acquired` runs once it is in hand. */
  request(acquired: () => void): Promise<void>;
  /** Connections open or opening right now. */
  live(): number;
  close(): Promise<void>;
  /** Anything else worth reporting about this run; times relative to `burstStart`. */
  extra?(burstStart: number): Record<string, number | string>;
}

class Peak {
  value = 0;
  #on = false;
  start(initial: number): void {
    this.value = initial;
    this.#on = true;
  }
  stop(): void {
    this.#on = false;
  }
  observe(n: number): void {
    if (this.#on && n > this.value) this.value = n;
  }
}

/** Peaks are updated on every connect start (exact) and by a sampler (catches what the pool queues). */
class Watch {
  readonly burst = new Peak();
  readonly aftermath = new Peak();
  observe(n: number): void {
    this.burst.observe(n);
    this.aftermath.observe(n);
  }
}

async function makeLibsqlPool(url: string, watch: Watch, adaptive = true): Promise<Subject> {
  const driver = new SlowConnectDriver(url, CONNECT_MS, { min: 1, max: 50, adaptive });
  const pool = await createPool({ url, min: 1, max: 50, adaptive }, driver);
  const resizes: Array<ResizeEvent & { at: number }> = [];
  pool.on('resize', (e) => resizes.push({ ...e, at: performance.now() }));
  const live = () => {
    const s = pool.stats();
    return Math.max(driver.live, s.size + s.pending);
  };
  // Cheap at each connect start; the sampler adds the connects the pool has queued (it opens 4 at a time).
  driver.onConnect = () => watch.observe(driver.live);
  return {
    request: (acquired) =>
      pool.use(async (c) => {
        acquired();
        await c.execute('select 1');
        await sleep(QUERY_MS);
      }),
    live,
    close: () => pool.close(),
    extra: (burstStart) => {
      const s = pool.stats();
      const rel = (at: number) => `${at >= burstStart ? '+' : ''}${Math.round(at - burstStart)} ms`;
      return {
        target: s.target,
        size: s.size,
        created: s.totals.created,
        resizes: resizes.map((r) => `${r.from}->${r.to} ${r.reason} @${rel(r.at)}`).join(', '),
      };
    },
  };
}

function rawFactory(path: string, watch: Watch, counter: { live: number }) {
  return {
    create: async (): Promise<RawResource> => {
      counter.live++;
      watch.observe(counter.live);
      await sleep(CONNECT_MS);
      const db = openRaw(path);
      return { db, select1: db.prepare('select 1').raw(true) };
    },
    destroy: (r: RawResource): void => {
      r.db.close();
      counter.live--;
    },
  };
}

/** tarn or generic-pool on raw connections: `live` counts what the factory opened, or what generic-pool counts if more. */
async function makeGeneric(name: 'tarn' | 'generic-pool', path: string, watch: Watch): Promise<Subject> {
  const counter = { live: 0 };
  const factory = rawFactory(path, watch, counter);
  const options = { min: 1, max: 50 };
  const pool: GenericPool = name === 'tarn' ? await openTarn(factory, options) : await openGenericPool(factory, options);
  return {
    request: (acquired) =>
      pool.use(async (r) => {
        r.select1.all([]);
        await sleep(QUERY_MS);
      }, acquired),
    live: name === 'tarn' ? () => counter.live : () => Math.max(counter.live, pool.size()),
    close: () => pool.close(),
  };
}

interface RunResult {
  pool: PoolName;
  /** Little's law over the steady phase: completions/s × mean hold time. */
  steadyRate: number;
  steadyHoldMs: number;
  littleL: number;
  /** Connections open or opening at the burst's start. */
  atBurstStart: number;
  peakBurst: number;
  peakAftermath: number;
  waitP50: number;
  waitP99: number;
  waitMax: number;
  burstMs: number;
  /** Synchronous time to issue the 50 requests (the acquire calls up to their first await). */
  issueMs: number;
  extra: Record<string, number | string>;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(sorted.length * p) - 1)]!;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

async function runOnce(name: PoolName, fx: { url: string; path: string }): Promise<RunResult> {
  const watch = new Watch();
  const subject =
    name === 'libsql-pool'
      ? await makeLibsqlPool(fx.url, watch)
      : name === 'libsql-pool-fixed'
        ? await makeLibsqlPool(fx.url, watch, false)
        : await makeGeneric(name, fx.path, watch);
  const tailMs = name === 'libsql-pool-fixed' ? DIAG_TAIL_MS : TAIL_MS;
  const sampler = setInterval(() => watch.observe(subject.live()), SAMPLE_EVERY_MS);

  // 1. Steady phase: closed loops, run on through the burst and its aftermath.
  let stop = false;
  const t0 = performance.now();
  const measureFrom = t0 + STEADY_SKIP_MS;
  let measureTo = Infinity;
  let steadyDone = 0;
  let steadyHeld = 0;
  const loop = async () => {
    while (!stop) {
      let got = 0;
      await subject.request(() => (got = performance.now()));
      const end = performance.now();
      if (got >= measureFrom && end <= measureTo) {
        steadyDone++;
        steadyHeld += end - got;
      }
    }
  };
  const loops = Array.from({ length: STEADY_LOOPS }, loop);
  await sleep(STEADY_MS);

  // 2. The burst.
  const atBurstStart = subject.live();
  watch.burst.start(atBurstStart);
  watch.aftermath.start(atBurstStart);
  const waits = new Array<number>(BURST);
  const burstStart = performance.now();
  measureTo = burstStart;
  const requests = Array.from({ length: BURST }, (_, i) => {
    const started = performance.now();
    return subject.request(() => (waits[i] = performance.now() - started));
  });
  const issueMs = performance.now() - burstStart;
  await Promise.all(requests);
  const burstMs = performance.now() - burstStart;
  watch.observe(subject.live());
  watch.burst.stop();

  // 3. Aftermath, steady load still on.
  await sleep(tailMs);
  watch.observe(subject.live());
  watch.aftermath.stop();
  stop = true;
  await Promise.all(loops);
  clearInterval(sampler);
  const extra = subject.extra?.(burstStart) ?? {};
  await subject.close();

  const steadySeconds = (burstStart - measureFrom) / 1000;
  const steadyRate = steadyDone / steadySeconds;
  const steadyHoldMs = steadyHeld / Math.max(1, steadyDone);
  return {
    pool: name,
    steadyRate,
    steadyHoldMs,
    littleL: steadyRate * (steadyHoldMs / 1000),
    atBurstStart,
    peakBurst: watch.burst.value,
    peakAftermath: watch.aftermath.value,
    waitP50: percentile(waits, 0.5),
    waitP99: percentile(waits, 0.99),
    waitMax: Math.max(...waits),
    burstMs,
    issueMs,
    extra,
  };
}

interface Summary {
  pool: PoolName;
  peakBurst: number;
  peakAftermath: number;
  atBurstStart: number;
  waitP50: number;
  waitP99: number;
  burstMs: number;
  issueMs: number;
  littleL: number;
  steadyRate: number;
  steadyHoldMs: number;
  runs: RunResult[];
}

function summarise(pool: PoolName, runs: RunResult[]): Summary {
  const m = (f: (r: RunResult) => number) => median(runs.map(f));
  return {
    pool,
    peakBurst: m((r) => r.peakBurst),
    peakAftermath: m((r) => r.peakAftermath),
    atBurstStart: m((r) => r.atBurstStart),
    waitP50: m((r) => r.waitP50),
    waitP99: m((r) => r.waitP99),
    burstMs: m((r) => r.burstMs),
    issueMs: m((r) => r.issueMs),
    littleL: m((r) => r.littleL),
    steadyRate: m((r) => r.steadyRate),
    steadyHoldMs: m((r) => r.steadyHoldMs),
    runs,
  };
}

const ms = (n: number) => `${n.toFixed(1)} ms`;

/*
 * The burst alone (no steady loops), libsql-pool adaptive vs the fixed pool
 * (`adaptive: false`): 50 requests at once on a cold pool (min 1, only its
 * one connection open) and on a warm one (a first burst of 50 finished
 * WARM_GAP_MS earlier, well within the idle timeout, so its connections are
 * still open). Counted from the burst's start: connects started, connects
 * started after the last waiter got its connection, and connections that
 * finished opening after that moment (started while someone still waited, but
 * used by nobody in the burst). Watched for BURST_AFTER_MS after the burst.
 */
const WARM_GAP_MS = 300;
const BURST_AFTER_MS = CONNECT_MS + 350;

type BurstMode = 'cold' | 'warm';

interface BurstOnlyRun {
  /** Connections open when the measured burst started. */
  sizeAtStart: number;
  /** Connects started from the burst's start to the end of the watch. */
  opened: number;
  startedAfterServed: number;
  finishedAfterServed: number;
  burstMs: number;
}

async function burstOnce(url: string, adaptive: boolean, mode: BurstMode): Promise<BurstOnlyRun> {
  const driver = new SlowConnectDriver(url, CONNECT_MS, { min: 1, max: BURST, adaptive });
  const pool = await createPool({ url, min: 1, max: BURST, adaptive }, driver);
  const starts: number[] = [];
  const opens: number[] = [];
  driver.onConnect = () => starts.push(performance.now());
  pool.on('resize', (e) => {
    if (e.reason === 'open') opens.push(performance.now());
  });
  const request = (acquired: () => void) =>
    pool.use(async (c) => {
      acquired();
      await c.execute('select 1');
      await sleep(QUERY_MS);
    });
  if (mode === 'warm') {
    await Promise.all(Array.from({ length: BURST }, () => request(() => undefined)));
    await sleep(WARM_GAP_MS);
  }
  const sizeAtStart = pool.stats().size;
  const burstStart = performance.now();
  let lastServed = burstStart;
  await Promise.all(
    Array.from({ length: BURST }, () =>
      request(() => {
        lastServed = Math.max(lastServed, performance.now());
      }),
    ),
  );
  const burstMs = performance.now() - burstStart;
  await sleep(BURST_AFTER_MS);
  await pool.close();
  return {
    sizeAtStart,
    opened: starts.filter((t) => t >= burstStart).length,
    startedAfterServed: starts.filter((t) => t > lastServed).length,
    finishedAfterServed: opens.filter((t) => t > lastServed).length,
    burstMs,
  };
}

async function burstOnly(url: string): Promise<Comparison[]> {
  const out: Comparison[] = [];
  for (const mode of ['cold', 'warm'] as BurstMode[]) {
    const runs = { adaptive: [] as BurstOnlyRun[], fixed: [] as BurstOnlyRun[] };
    for (let rep = 0; rep < REPS; rep++) {
      const order: Array<'adaptive' | 'fixed'> = rep % 2 === 0 ? ['adaptive', 'fixed'] : ['fixed', 'adaptive'];
      for (const name of order) {
        const r = await burstOnce(url, name === 'adaptive', mode);
        runs[name].push(r);
        process.stderr.write(
          `    burst only, ${mode}, ${name.padEnd(8)} ${r.sizeAtStart} open at start, ${r.opened} connects started, ` +
            `${r.startedAfterServed} started and ${r.finishedAfterServed} finished after the last waiter was served; done in ${ms(r.burstMs)}\n`,
        );
      }
    }
    const sum = (rs: BurstOnlyRun[]) => ({
      sizeAtStart: median(rs.map((r) => r.sizeAtStart)),
      opened: median(rs.map((r) => r.opened)),
      startedAfterMax: Math.max(...rs.map((r) => r.startedAfterServed)),
      finishedAfterMax: Math.max(...rs.map((r) => r.finishedAfterServed)),
      burstMs: median(rs.map((r) => r.burstMs)),
    });
    const a = sum(runs.adaptive);
    const f = sum(runs.fixed);
    const cellOf = (name: string, x: ReturnType<typeof sum>) =>
      `${name}: ${x.opened} connects started (median; ${x.sizeAtStart} open at the start), ` +
      `${x.startedAfterMax} started and ${x.finishedAfterMax} finished opening after the last waiter was served (max over runs), ` +
      `burst done in ${ms(x.burstMs)}`;
    const ratio = f.opened === 0 ? (a.opened === 0 ? 1 : Number.POSITIVE_INFINITY) : a.opened / f.opened;
    const met = ratio <= 1 && a.startedAfterMax === 0;
    const perRun = (name: string, rs: BurstOnlyRun[]) =>
      `${name} ${rs.map((r) => `${r.opened} (${r.startedAfterServed}/${r.finishedAfterServed})`).join(', ')}`;
    out.push({
      subject: 'pool',
      baseline: 'fixed',
      ratio,
      goal: 1,
      goalText:
        '<= 1x the fixed pool\'s connects (lower is better), and 0 connects started after the last waiter was served',
      met,
      subjectCell:
        `burst only, ${mode} (${mode === 'cold' ? 'min 1, one connection open' : `a burst of ${BURST} ended ${WARM_GAP_MS} ms before`}) · ` +
        cellOf('libsql-pool', a),
      baselineCell: cellOf('fixed (adaptive: false)', f),
      note:
        `per run, connects started (started / finished after the last waiter was served): ${perRun('libsql-pool', runs.adaptive)}; ` +
        `${perRun('fixed', runs.fixed)}` +
        (a.finishedAfterMax > 0
          ? '; connects that finish after the last waiter was served were started while callers still waited (the sizing rule), and no caller of the burst used them'
          : ''),
    });
  }
  return out;
}


async function main(): Promise<void> {
  const started = performance.now();
  const fx = createFixture();
  const names: PoolName[] = ['libsql-pool', 'tarn', 'generic-pool', 'libsql-pool-fixed'];
  const runs = new Map<PoolName, RunResult[]>(names.map((n) => [n, []]));
  let burstRows: Comparison[] = [];
  try {
    for (let rep = 0; rep < REPS; rep++) {
      process.stderr.write(`  repetition ${rep + 1}/${REPS}\n`);
      // Rotate the order, so a slow spell of the machine does not always hit the same pool.
      const present = names.filter((n) => n !== 'libsql-pool-fixed' || rep < DIAG_REPS);
      const order = present.map((_, i) => present[(i + rep) % present.length]!);
      for (const name of order) {
        const r = await runOnce(name, fx);
        runs.get(name)!.push(r);
        process.stderr.write(
          `    ${name.padEnd(13)} steady L=${r.littleL.toFixed(2)} (${Math.round(r.steadyRate)}/s × ${ms(r.steadyHoldMs)}); ` +
            `burst: ${r.atBurstStart} -> peak ${r.peakBurst} during, ${r.peakAftermath} with aftermath; ` +
            `wait p50 ${ms(r.waitP50)} p99 ${ms(r.waitP99)}; done in ${ms(r.burstMs)}, issued in ${ms(r.issueMs)}` +
            (Object.keys(r.extra).length > 0 ? ` ${JSON.stringify(r.extra)}` : '') +
            '\n',
        );
      }
    }
    process.stderr.write(`  the burst alone, cold and warm, libsql-pool vs adaptive: false (${REPS} runs each)\n`);
    burstRows = await burstOnly(fx.url);
  } finally {
    fx.cleanup();
  }

  const s = new Map(names.map((n) => [n, summarise(n, runs.get(n)!)]));
  const ours = s.get('libsql-pool')!;
  const tarn = s.get('tarn')!;
  const generic = s.get('generic-pool')!;
  const fixed = s.get('libsql-pool-fixed')!;
  // Steady-state need: Little's law on libsql-pool's own steady phase (completions/s × mean
  // hold), rounded up to whole connections. With closed loops it should equal STEADY_LOOPS.
  const need = Math.ceil(ours.littleL - 1e-9);
  const peakRatio = ours.peakAftermath / need;
  const peakMet = peakRatio <= PEAK_GOAL;
  const better = [tarn, generic].sort((a, b) => a.waitP99 - b.waitP99)[0]!;
  const waitRatio = ours.waitP99 / better.waitP99;
  const waitMet = waitRatio <= 1;

  const peakCell = (x: Summary) =>
    `${x.pool}: peak ${x.peakAftermath} conns (${(x.peakAftermath / need).toFixed(1)}x need; ${x.peakBurst} until the burst was served)`;
  const waitCell = (x: Summary) =>
    `${x.pool}: wait p99 ${ms(x.waitP99)}, p50 ${ms(x.waitP50)}, burst done in ${ms(x.burstMs)}`;

  const peakComparison: Comparison = {
    subject: 'pool',
    baseline: 'steady-need',
    ratio: peakRatio,
    goal: PEAK_GOAL,
    goalText: `<= ${PEAK_GOAL}x steady need (peak conns / need, lower is better)`,
    met: peakMet,
    subjectCell:
      `${peakCell(ours)}; steady need ${need} (Little's law: ${Math.round(ours.steadyRate)} req/s × ` +
      `${ms(ours.steadyHoldMs)} held = ${ours.littleL.toFixed(2)})`,
    baselineCell: `${peakCell(tarn)}; ${peakCell(generic)}`,
  };
  if (!peakMet) {
    const opened = ours.runs.filter((r) => r.peakBurst > r.atBurstStart);
    const after = ours.runs.filter((r) => r.peakAftermath > r.peakBurst);
    peakComparison.note = [
      `per run, peak until the burst was served: ${ours.runs.map((r) => r.peakBurst).join(', ')} ` +
        `(${opened.length}/${ours.runs.length} runs opened connections for it, from ${ours.atBurstStart})`,
      `peak with the aftermath: ${ours.runs.map((r) => r.peakAftermath).join(', ')}`,
      after.length > 0
        ? `size changes (time from the burst's start): ${ours.runs.map((r) => r.extra.resizes || 'none').join(' | ')}`
        : undefined,
    ]
      .filter(Boolean)
      .join('; ');
  }
  const waitComparison: Comparison = {
    subject: 'pool',
    baseline: better.pool,
    ratio: waitRatio,
    goal: 1,
    goalText: '<= 1x the better p99 wait of tarn, generic-pool (lower is better)',
    met: waitMet,
    subjectCell: waitCell(ours),
    baselineCell: `${waitCell(tarn)}; ${waitCell(generic)}`,
  };
  if (!waitMet) {
    waitComparison.note = [
      `p99 per run: libsql-pool ${ours.runs.map((r) => r.waitP99.toFixed(1)).join(', ')} ms; ` +
        `${better.pool} ${better.runs.map((r) => r.waitP99.toFixed(1)).join(', ')} ms`,
      `issuing the 50 acquire() calls took (synchronously, median) libsql-pool ${ms(ours.issueMs)}, ` +
        `tarn ${ms(tarn.issueMs)}, generic-pool ${ms(generic.issueMs)}`,
      `(diag) libsql-pool with adaptive: false: p99 ${ms(fixed.waitP99)}, issued in ${ms(fixed.issueMs)}, ` +
        `burst done in ${ms(fixed.burstMs)}, peak ${fixed.peakBurst} conns`,
    ].join('; ');
  }

  const metrics: Record<string, number | string | boolean> = { steadyNeed: need };
  for (const x of [ours, tarn, generic, fixed]) {
    const k = x.pool;
    metrics[`${k}.peakConnections`] = x.peakAftermath;
    metrics[`${k}.peakConnectionsUntilServed`] = x.peakBurst;
    metrics[`${k}.connectionsAtBurstStart`] = x.atBurstStart;
    metrics[`${k}.waitP50Ms`] = Number(x.waitP50.toFixed(2));
    metrics[`${k}.waitP99Ms`] = Number(x.waitP99.toFixed(2));
    metrics[`${k}.burstMs`] = Number(x.burstMs.toFixed(2));
    metrics[`${k}.issueMs`] = Number(x.issueMs.toFixed(3));
    metrics[`${k}.littleL`] = Number(x.littleL.toFixed(3));
    metrics[`${k}.runs`] = JSON.stringify(
      x.runs.map((r) => ({
        peakBurst: r.peakBurst,
        peakAftermath: r.peakAftermath,
        atBurstStart: r.atBurstStart,
        p50: Number(r.waitP50.toFixed(2)),
        p99: Number(r.waitP99.toFixed(2)),
        burstMs: Number(r.burstMs.toFixed(1)),
        issueMs: Number(r.issueMs.toFixed(2)),
        L: Number(r.littleL.toFixed(2)),
        ...r.extra,
      })),
    );
  }

  emitReport({
    case: 'spike',
    title: 'Spike: 50-request burst, 150 ms connects',
    status: 'ok',
    variants: [],
    comparisons: [peakComparison, waitComparison, ...burstRows],
    metrics,
    notes: [
      `Real time. Connect ${CONNECT_MS} ms (timer, then a real libsql connection), request = select 1 + ${QUERY_MS} ms timer. ` +
        `${STEADY_LOOPS} closed loops for ${STEADY_MS} ms, then ${BURST} requests at once with the loops still running, ` +
        `then ${TAIL_MS} ms more of the loops. Peak = connections open or opening from the burst's start to the end of ` +
        `that aftermath; "until the burst was served" stops at its last request. Steady need = ceil(Little's L) of ` +
        `libsql-pool's steady phase. Wait = request start to connection in hand; p99 of 50 is the slowest ` +
        `(nearest rank). Medians of ${REPS} runs, fresh pool each, order rotated. "(diag)" libsql-pool with ` +
        `adaptive: false runs the same burst (${DIAG_REPS} runs, ${DIAG_TAIL_MS} ms aftermath) to split the pool's wait into its scheduling cost.`,
      `"burst only" rows: ${BURST} requests at once with no steady loops, libsql-pool vs the same pool with adaptive: false ` +
        `(the fixed pool), ${REPS} runs each, order alternated, fresh pool each run (min 1, max ${BURST}, default idle timeout). ` +
        `Cold: only the min connection is open. Warm: a first burst of ${BURST} finished ${WARM_GAP_MS} ms before, within the ` +
        `idle timeout. Connects are counted from the burst's start until ${BURST_AFTER_MS} ms after it; "after the last waiter ` +
        `was served" = after the last of the ${BURST} requests got its connection.`,
    ],
    env: {
      connectMs: CONNECT_MS,
      queryMs: QUERY_MS,
      burst: BURST,
      steadyLoops: STEADY_LOOPS,
      steadyMs: STEADY_MS,
      tailMs: TAIL_MS,
      reps: REPS,
      poolConfig: 'libsql-pool {min 1, max 50}; tarn {min 1, max 50, acquireTimeoutMillis 600000}; generic-pool {min 1, max 50, testOnBorrow false}',
    },
    durationMs: Math.round(performance.now() - started),
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
