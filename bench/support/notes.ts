import { find } from './measure';
import type { VariantResult } from './protocol';

/** A layer of the pool's path, timed as a variant that adds it to the one before. */
export interface Layer {
  variant: string;
  /** What the layer adds, e.g. `acquire + release`. */
  adds: string;
}

/** Microseconds per operation. */
export function usPerOp(v: VariantResult): number {
  return 1e6 / v.opsPerSec;
}

function us(n: number): string {
  return `${n.toFixed(n < 10 ? 2 : 1)} µs`;
}

/**
 * Splits the subject's time per operation into layers measured in the same
 * run: each layer's cost is its variant's µs/op minus the previous one's.
 * Returns e.g. `pool 13.9 µs/op = libsql .all 7.8 µs + rows 2.7 µs + …`.
 */
export function breakdown(results: VariantResult[], layers: Layer[]): string | undefined {
  const timed = layers.map((l) => ({ l, v: find(results, l.variant) }));
  if (timed.some((t) => t.v === undefined)) return undefined;
  const parts: string[] = [];
  let previous = 0;
  for (const { l, v } of timed) {
    const t = usPerOp(v!);
    const cost = t - previous;
    // Layers cheaper than the noise can come out negative; say so rather than print it as a cost.
    parts.push(cost < 0 ? `${l.adds} ≈0 (${us(cost)}, noise)` : `${l.adds} ${us(cost)}`);
    previous = t;
  }
  const subject = timed.at(-1)!;
  return `${subject.l.variant} ${us(previous)}/op = ${parts.join(' + ')}`;
}

/**
 * `ceiling on this run: raw .all alone 6.03x client; …`: what variants doing
 * only part of the pool's work reach against the baseline, so the most the
 * pool could reach on this run.
 */
export function ceilings(
  results: VariantResult[],
  baseline: { name: string; text: string },
  parts: Array<{ name: string; text: string }>,
): string | undefined {
  const b = find(results, baseline.name);
  if (b === undefined) return undefined;
  const found = parts
    .map((p) => ({ p, v: find(results, p.name) }))
    .filter((x): x is { p: { name: string; text: string }; v: VariantResult } => x.v !== undefined)
    .map(({ p, v }) => `${p.text} alone ${(v.opsPerSec / b.opsPerSec).toFixed(2)}x ${baseline.text}`);
  return found.length === 0 ? undefined : `ceiling on this run: ${found.join(', ')}`;
}

export function joinNotes(...parts: Array<string | undefined>): string {
  return parts.filter((p): p is string => p !== undefined).join('; ');
}
