/*
 * The pool's timers follow one rule: a timer is unref'd unless someone awaits
 * it. Background work (reaping idle connections, retrying a connect, a
 * connection's lifetime, a health ping, leak watching) must never keep a
 * process alive that has nothing else to do. A timer a caller awaits
 * (`acquire()`'s timeout, `close()`'s grace period) stays ref'd: if nothing
 * else keeps the process up, the caller must still hear the outcome rather
 * than vanish with the process.
 */

/** Longest delay `setTimeout` honours; longer ones fire after 1 ms instead. */
export const MAX_TIMER_MS = 2_147_483_647;

/** A delay as the pool's timers take it: anything past ~24.8 days means never. */
export function timerDelay(ms: number): number {
  return ms > MAX_TIMER_MS ? Number.POSITIVE_INFINITY : ms;
}

export type Timer = ReturnType<typeof setTimeout>;

/** A timer for background work: it never keeps the process alive. */
export function unrefTimeout(fn: () => void, ms: number): Timer {
  const timer = setTimeout(fn, ms);
  timer.unref?.();
  return timer;
}

/** A timer a caller awaits: ref'd, so the process stays up until it fires or is cleared. */
export function awaitedTimeout(fn: () => void, ms: number): Timer {
  return setTimeout(fn, ms);
}

/**
 * Settles as `work` does, or, if `ms` passes first, as `onTimeout()` does (its
 * return value, or its throw as the rejection). The timer is cleared as soon
 * as `work` settles, and is ref'd only when `awaited`; an infinite `ms` arms
 * no timer at all.
 */
export function raceTimeout<T>(
  work: Promise<T>,
  ms: number,
  onTimeout: () => T,
  { awaited }: { awaited: boolean },
): Promise<T> {
  const delay = timerDelay(ms);
  if (!Number.isFinite(delay)) return work;
  return new Promise<T>((resolve, reject) => {
    const fire = () => {
      try {
        resolve(onTimeout());
      } catch (error) {
        reject(error);
      }
    };
    const timer = awaited ? awaitedTimeout(fire, delay) : unrefTimeout(fire, delay);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
