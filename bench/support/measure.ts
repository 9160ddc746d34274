import { Bench, type TaskResult } from 'tinybench';
import type { VariantResult } from './protocol';

export interface VariantSpec {
  name: string;
  label: string;
  /**
   * One tinybench iteration. It should do `opsPerIteration` operations, so a
   * sample is long enough (0.2 ms and up) for the timer not to matter.
   */
  fn: () => unknown;
  opsPerIteration: number;
  /** Read once the variant has run; merged into `VariantResult.extra`. */
  extra?: () => Record<string, number | string>;
}

export interface MeasureOptions {
  /** Milliseconds tinybench spends on each variant in each round. */
  timeMs: number;
  /** Minimum iterations per variant and round, even past `timeMs`. */
  iterations: number;
  /** Warm-up per variant in the first round (later rounds warm up for a third of it). */
  warmupMs: number;
  warmupIterations: number;
  /**
   * The variants run in turn, `rounds` times over, so a slow spell of this
   * shared machine lands on all of them rather than on whichever ran then.
   */
  rounds: number;
}

/** `BENCH_TIME_MS`, `BENCH_WARMUP_MS` and `BENCH_ROUNDS` override the defaults for every case. */
export function measureOptions(defaults: Partial<MeasureOptions> = {}): MeasureOptions {
  const env = (name: string) => {
    const n = Number(process.env[name]);
    return Number.isFinite(n) && n > 0 ? n : undefined;
  };
  return {
    timeMs: env('BENCH_TIME_MS') ?? defaults.timeMs ?? 600,
    iterations: defaults.iterations ?? 10,
    warmupMs: env('BENCH_WARMUP_MS') ?? defaults.warmupMs ?? 300,
    warmupIterations: defaults.warmupIterations ?? 10,
    rounds: Math.round(env('BENCH_ROUNDS') ?? defaults.rounds ?? 5),
  };
}

const gc = (globalThis as { gc?: () => void }).gc;

interface Accumulated {
  samples: number[];
  rme: number[];
  roundRates: number[];
  totalTime: number;
}

/**
 * Runs each variant with tinybench (warm-up, then `timeMs` of samples), in
 * `rounds` interleaved rounds, and reports the median rate and its spread
 * from tinybench's samples of all rounds.
 *
 * A full GC runs before each warm-up and each run (when the process has
 * `--expose-gc`), so garbage one variant leaves behind (the un-finalised
 * statements of an uncached path, say) is not billed to the next.
 *
 * `BENCH_ONLY=pool,lease` runs only those variants (for `--cpu-prof`).
 */
export async function measure(variants: VariantSpec[], options: MeasureOptions): Promise<VariantResult[]> {
  const only = process.env.BENCH_ONLY?.split(',').filter(Boolean) ?? [];
  const selected = variants.filter((v) => only.length === 0 || only.includes(v.name));
  const acc = new Map<VariantSpec, Accumulated>(
    selected.map((v) => [v, { samples: [], rme: [], roundRates: [], totalTime: 0 }]),
  );
  for (let round = 0; round < options.rounds; round++) {
    process.stderr.write(`  round ${round + 1}/${options.rounds}\n`);
    for (const v of selected) {
      // One Bench per variant: tinybench 2.9 warms up every task of a bench
      // before running any, so a later variant's warm-up garbage would land on
      // an earlier variant's run.
      const bench = new Bench({
        time: options.timeMs,
        iterations: options.iterations,
        warmupTime: round === 0 ? options.warmupMs : options.warmupMs / 3,
        warmupIterations: options.warmupIterations,
        throws: true,
        setup: () => gc?.(),
      });
      bench.add(v.label, v.fn);
      await bench.warmup();
      await bench.run();
      const r = bench.getTask(v.label)?.result as TaskResult | undefined;
      if (r === undefined || r.error !== undefined) {
        throw new Error(`${v.label} failed: ${String(r?.error ?? 'no result')}`);
      }
      const a = acc.get(v)!;
      for (const s of r.samples) a.samples.push(s);
      a.rme.push(r.rme);
      a.totalTime += r.totalTime;
      a.roundRates.push(rate(v, percentile(r.samples, 0.5)));
      process.stderr.write(
        `    ${v.label.padEnd(44)} ${fmtRate(a.roundRates.at(-1)!).padStart(11)} ops/s ` +
          `±${r.rme.toFixed(1)}% (${r.samples.length} samples)\n`,
      );
    }
  }
  return selected.map((v) => {
    const a = acc.get(v)!;
    const sorted = a.samples.sort((x, y) => x - y);
    const median = rate(v, percentile(sorted, 0.5));
    const p25 = rate(v, percentile(sorted, 0.75)); // slower samples: lower rate
    const p75 = rate(v, percentile(sorted, 0.25));
    const result: VariantResult = {
      name: v.name,
      label: v.label,
      opsPerIteration: v.opsPerIteration,
      opsPerSec: median,
      p25OpsPerSec: p25,
      p75OpsPerSec: p75,
      iqrPct: ((p75 - p25) / median) * 100,
      rmePct: percentile([...a.rme].sort((x, y) => x - y), 0.5),
      roundOpsPerSec: a.roundRates.map(Math.round),
      meanOpsPerSec: (v.opsPerIteration * 1000 * sorted.length) / a.totalTime,
      samples: sorted.length,
    };
    if (v.extra !== undefined) result.extra = v.extra();
    return result;
  });
}

function rate(v: VariantSpec, ms: number): number {
  return (v.opsPerIteration * 1000) / ms;
}

/** Nearest-rank percentile of sorted sample times, the way tinybench computes p75. */
function percentile(sorted: number[], p: number): number {
  if (p === 0.5) {
    const n = sorted.length;
    return n % 2 === 1 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  }
  return sorted[Math.max(0, Math.ceil(sorted.length * p) - 1)]!;
}

export function fmtRate(opsPerSec: number): string {
  return Math.round(opsPerSec).toLocaleString('en-US');
}

export function find(results: VariantResult[], name: string): VariantResult | undefined {
  return results.find((r) => r.name === name);
}
