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
    parts.push(`${l.adds} ${us(t - previous)}`);
    previous = t;
  }
  const subject = timed.at(-1)!;
  return `${subject.l.variant} ${us(previous)}/op = ${parts.join(' + ')}`;
}

/** `raw .all is only 5.7x the client here`: the most any wrapper of it could reach. */
export function ceiling(results: VariantResult[], inner: string, innerText: string, baseline: string): string | undefined {
  const i = find(results, inner);
  const b = find(results, baseline);
  if (i === undefined || b === undefined) return undefined;
  return `ceiling: ${innerText} alone is ${(i.opsPerSec / b.opsPerSec).toFixed(2)}x ${baseline} on this run`;
}

export function joinNotes(...parts: Array<string | undefined>): string {
  return parts.filter((p): p is string => p !== undefined).join('; ');
}
