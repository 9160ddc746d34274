/**
 * What a case process reports to `bench/run.ts`: one line on stdout, `RESULT_PREFIX`
 * followed by the JSON of a `CaseReport`. Anything else a case prints is
 * passed through as progress.
 */

export const RESULT_PREFIX = 'BENCH_RESULT ';

/** One measured variant: median ops/s from tinybench's samples, with its spread. */
export interface VariantResult {
  /** Short key, e.g. `pool`, `client`, `raw-all`. */
  name: string;
  /** What ran, for the table. */
  label: string;
  /** Operations each tinybench iteration performs (a sample times a batch). */
  opsPerIteration: number;
  /** Median ops/s: `opsPerIteration / median sample time`. */
  opsPerSec: number;
  /** ops/s at the 25th and 75th percentile of sample times (p25 ops/s comes from the p75 time). */
  p25OpsPerSec: number;
  p75OpsPerSec: number;
  /** (p75 - p25) / median ops/s, in percent. */
  iqrPct: number;
  /** tinybench's relative margin of error of the mean sample time, in percent (median over rounds). */
  rmePct: number;
  /** Each round's median ops/s: how much the rate moved between rounds. */
  roundOpsPerSec: number[];
  /** tinybench `hz * opsPerIteration`: the mean-based rate, for comparison with the median. */
  meanOpsPerSec: number;
  /** How many samples (iterations) tinybench took, over all rounds. */
  samples: number;
  /** Case-specific counters (errors by code, commits, …). */
  extra?: Record<string, number | string>;
}

/** One claim: the subject's rate divided by a baseline's, against a goal. */
export interface Comparison {
  /** Variant names: `subject` / `baseline`. */
  subject: string;
  baseline: string;
  /** `subject.opsPerSec / baseline.opsPerSec` (or an explicit figure). */
  ratio: number | null;
  /** Minimum ratio wanted; `null` for a reference figure with no goal. */
  goal: number | null;
  /** Human form of the goal, e.g. `>= 5x client`. */
  goalText: string;
  met: boolean | null;
  /** What limits the ratio when the goal is not met (measured in the same run). */
  note?: string;
  /** Table cells to show instead of the variants' ops/s (e.g. committed tx/s, bytes). */
  subjectCell?: string;
  baselineCell?: string;
}

export interface CaseReport {
  /** Case key, as given on the command line (`point-read`). */
  case: string;
  title: string;
  status: 'ok' | 'not-run' | 'failed';
  /** Why it did not run or what failed. */
  reason?: string;
  variants: VariantResult[];
  comparisons: Comparison[];
  /** Figures that are not rates (memory case). */
  metrics?: Record<string, number | string | boolean>;
  /** Free text shown under the table. */
  notes?: string[];
  /** Context: where the database lived, tinybench settings. */
  env?: Record<string, string | number | boolean>;
  ranAt?: string;
  durationMs?: number;
}

/** Prints the report for the parent. Call once, at the end of a case. */
export function emitReport(report: CaseReport): void {
  process.stdout.write(RESULT_PREFIX + JSON.stringify(report) + '\n');
}

/** Ratio of two rates, `null` when the baseline did not run. */
export function ratioOf(subject: VariantResult | undefined, baseline: VariantResult | undefined): number | null {
  if (subject === undefined || baseline === undefined) return null;
  if (baseline.opsPerSec === 0) return subject.opsPerSec > 0 ? Number.POSITIVE_INFINITY : null;
  return subject.opsPerSec / baseline.opsPerSec;
}
