import { createPool } from '../../lib';
import { createFixture, openRaw } from '../support/fixture';
import { openGenericPool, openTarn, type RawResource } from '../support/generic-pools';
import { emitReport, type Comparison } from '../support/protocol';
import { SlowConnectDriver } from '../support/slow-driver';

/**
 * Sizing under changing load, in real time (a benchmark, not a test): the
 * steady, square-wave, ramp and step workloads. Closed loops (up to MAX_C) run requests (`select 1`
 * plus QUERY_MS of holding the connection); how many loops run follows the
 * workload's curve. Every pool has min 1, max 16, idle timeout IDLE_MS, and
 * connects that cost 0 or 50 ms. Per run: throughput, connections opened, and
 * how long after the last release the pool is back at min (watched for
 * SILENCE_MS). ROUNDS runs of adaptive and fixed per workload, order rotated
 * each round, compared by their medians; tarn and generic-pool run once.
 */
const MAX_C = 16;
const QUERY_MS = 2;
const IDLE_MS = 200;
const RUN_MS = Number(process.env.BENCH_SIZING_RUN_MS ?? 1000);
const SILENCE_MS = 600;
/** Rounds of adaptive and fixed per workload; the goal compares their medians. */
const ROUNDS = Number(process.env.BENCH_SIZING_ROUNDS ?? 3);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Loops that should be running at `f` (0..1) of the run. */
const WORKLOADS: Record<string, (f: number) => number> = {
  'steady 1': () => 1,
  'steady 4': () => 4,
  'steady 16': () => 16,
  'square 1/16': (f) => (Math.floor(f * 5) % 2 === 0 ? 1 : 16),
  'ramp 1-16-1': (f) => Math.max(1, Math.round(1 + 15 * (1 - Math.abs(2 * f - 1)))),
  'step 1-16': (f) => (f < 0.2 ? 1 : 16),
};

type PoolName = 'adaptive' | 'fixed' | 'tarn' | 'generic-pool';

interface Subject {
  request(): Promise<void>;
  size(): number;
  opened(): number;
  close(): Promise<void>;
}

async function makeSubject(name: PoolName, url: string, path: string, connectMs: number): Promise<Subject> {
  if (name === 'adaptive' || name === 'fixed') {
    const adaptive = name === 'adaptive';
    const driver = new SlowConnectDriver(url, connectMs, { min: 1, max: MAX_C, adaptive });
    const pool = await createPool({ url, min: 1, max: MAX_C, idleTimeoutMs: IDLE_MS, adaptive }, driver);
    return {
      request: () =>
        pool.use(async (c) => {
          await c.execute('select 1');
          await sleep(QUERY_MS);
        }),
      size: () => pool.stats().size,
      opened: () => driver.connects,
      close: () => pool.close(),
    };
  }
  let live = 0;
  let opened = 0;
  const create = async (): Promise<RawResource> => {
    opened++;
    live++;
    if (connectMs > 0) await sleep(connectMs);
    const db = openRaw(path);
    return { db, select1: db.prepare('select 1').raw(true) };
  };
  const destroy = (r: RawResource): void => {
    r.db.close();
    live--;
  };
  const use = async (r: RawResource) => {
    r.select1.all([]);
    await sleep(QUERY_MS);
  };
  const options = { min: 1, max: MAX_C, idle: { timeoutMs: IDLE_MS, checkEveryMs: 50 } };
  const generic = name === 'tarn' ? await openTarn({ create, destroy }, options) : await openGenericPool({ create, destroy }, options);
  return {
    request: () => generic.use(use),
    size: () => live,
    opened: () => opened,
    close: () => generic.close(),
  };
}

interface Run {
  opsPerSec: number;
  opened: number;
  /** ms from the last release to size <= 1, or null if not within SILENCE_MS. */
  backAtMinMs: number | null;
}

async function runOnce(name: PoolName, workload: (f: number) => number, connectMs: number, url: string, path: string): Promise<Run> {
  const subject = await makeSubject(name, url, path, connectMs);
  const openedBefore = subject.opened();
  const start = performance.now();
  const end = start + RUN_MS;
  let ops = 0;
  await Promise.all(
    Array.from({ length: MAX_C }, async (_, i) => {
      for (let now = performance.now(); now < end; now = performance.now()) {
        if (i < workload((now - start) / RUN_MS)) {
          await subject.request();
          ops++;
        } else {
          await sleep(1);
        }
      }
    }),
  );
  const lastRelease = performance.now();
  const opsPerSec = ops / ((lastRelease - start) / 1000);
  const opened = subject.opened() - openedBefore;
  let backAtMinMs: number | null = null;
  while (performance.now() - lastRelease < SILENCE_MS) {
    if (subject.size() <= 1) {
      backAtMinMs = performance.now() - lastRelease;
      break;
    }
    await sleep(5);
  }
  await subject.close();
  return { opsPerSec, opened, backAtMinMs };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

async function main(): Promise<void> {
  const started = performance.now();
  const fx = createFixture();
  const names: PoolName[] = ['adaptive', 'fixed', 'tarn', 'generic-pool'];
  const comparisons: Comparison[] = [];
  const metrics: Record<string, number | string | boolean> = {};
  let rotation = 0;
  try {
    for (const connectMs of [0, 50]) {
      for (const [label, workload] of Object.entries(WORKLOADS)) {
        const runs = new Map<PoolName, Run[]>(names.map((n) => [n, []]));
        for (let round = 0; round < ROUNDS; round++) {
          // tarn and generic-pool are a reference: the first round only, to keep the case within its time.
          const present = round === 0 ? names : names.filter((n) => n === 'adaptive' || n === 'fixed');
          const order = present.map((_, i) => present[(i + rotation) % present.length]!);
          rotation++;
          for (const name of order) runs.get(name)!.push(await runOnce(name, workload, connectMs, fx.url, fx.path));
        }
        const med = (n: PoolName) => {
          const rs = runs.get(n)!;
          const backs = rs.map((r) => r.backAtMinMs);
          return {
            opsPerSec: median(rs.map((r) => r.opsPerSec)),
            opened: median(rs.map((r) => r.opened)),
            // "never" (not within SILENCE_MS) counts as longer than any figure.
            backAtMinMs: median(backs.map((b) => (b === null ? Number.POSITIVE_INFINITY : b))),
            rounds: rs.length,
          };
        };
        const fmtBack = (b: number | null) =>
          b === null || !Number.isFinite(b) ? `> ${SILENCE_MS} ms` : `${Math.round(b)} ms`;
        const cell = (n: PoolName) => {
          const r = med(n);
          const of = r.rounds > 1 ? `median of ${r.rounds}: ` : '1 round: ';
          return `${n}: ${of}${Math.round(r.opsPerSec)} ops/s, ${r.opened} opened, back at min in ${fmtBack(r.backAtMinMs)}`;
        };
        const perRound = (n: PoolName) =>
          `${n} ${runs
            .get(n)!
            .map((r) => `${Math.round(r.opsPerSec)}/s ${r.opened} opened`)
            .join(', ')}`;
        const ours = med('adaptive');
        const fixed = med('fixed');
        const ratio = ours.opsPerSec / fixed.opsPerSec;
        const roundRatios = runs.get('adaptive')!.map((r, i) => r.opsPerSec / runs.get('fixed')![i]!.opsPerSec);
        const met = ratio >= 0.97 && ours.opened <= fixed.opened;
        comparisons.push({
          subject: `adaptive (${label}, ${connectMs} ms connects)`,
          baseline: 'fixed',
          ratio,
          goal: 0.97,
          goalText: `>= 0.97x the fixed pool, and no more connections opened (medians of ${ROUNDS} rounds)`,
          met,
          subjectCell: `${label}, ${connectMs} ms connects · ${cell('adaptive')}`,
          baselineCell: [cell('fixed'), cell('tarn'), cell('generic-pool')].join('; '),
          note:
            `per round: ${perRound('adaptive')}; ${perRound('fixed')}; ratio ${roundRatios.map((x) => x.toFixed(2)).join(', ')}` +
            (met ? '' : ratio < 0.97 ? ' (throughput below goal)' : ' (opened more than fixed)'),
        });
        for (const n of names) {
          const r = med(n);
          const key = `${label}/${connectMs}ms/${n}`;
          metrics[`${key}.opsPerSec`] = Math.round(r.opsPerSec);
          metrics[`${key}.opened`] = r.opened;
          metrics[`${key}.backAtMinMs`] = Number.isFinite(r.backAtMinMs) ? Math.round(r.backAtMinMs) : 'never';
          metrics[`${key}.rounds`] = JSON.stringify(
            runs.get(n)!.map((x) => ({
              opsPerSec: Math.round(x.opsPerSec),
              opened: x.opened,
              backAtMinMs: x.backAtMinMs === null ? 'never' : Math.round(x.backAtMinMs),
            })),
          );
        }
        process.stderr.write(`  ${label}, ${connectMs} ms connects: ${names.map(cell).join(' | ')}\n`);
      }
    }
  } finally {
    fx.cleanup();
  }
  emitReport({
    case: 'sizing',
    title: 'Sizing under changing load: adaptive vs fixed vs tarn vs generic-pool',
    status: 'ok',
    variants: [],
    comparisons,
    metrics,
    notes: [
      `Real time. ${ROUNDS} rounds per workload of adaptive and fixed (adaptive: false), order rotated each round; ` +
        `the goal compares their medians (ops/s and connections opened), each round's figures are in the row's note. ` +
        `tarn and generic-pool ran in the first round only (reference). ${MAX_C} closed loops at most; request = select 1 + ` +
        `${QUERY_MS} ms timer; ${RUN_MS} ms per run. Every pool min 1, max ${MAX_C}, idle timeout ${IDLE_MS} ms ` +
        `(tarn reaps every 50 ms, generic-pool evicts every 50 ms). "back at min": after the last release, watched for ${SILENCE_MS} ms.`,
    ],
    env: { maxC: MAX_C, queryMs: QUERY_MS, idleMs: IDLE_MS, runMs: RUN_MS, rounds: ROUNDS },
    durationMs: Math.round(performance.now() - started),
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
