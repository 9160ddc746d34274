import type { Driver, DriverConnection } from './driver';

export interface ConnectDeadline {
  /** How long the connect may take; `Infinity` for no limit. */
  timeoutMs: number;
  /** What is being opened, named in the timeout's message. */
  target: string;
  /** Aborted when the pool closes. */
  signal: AbortSignal;
}

/**
 * `driver.connect()`, given up after `timeoutMs`. A server that accepts the
 * socket and never answers would otherwise hold the connect, and the caller
 * waiting on it, for ever.
 *
 * On timeout the driver is told to stop (its signal aborts, and it closes
 * what it half opened) and the caller is answered at once with a
 * `TimeoutError`, whether or not the driver listens; a connection that opens
 * anyway is closed. When `signal` aborts (the pool closes) the driver is told
 * to stop and its own answer is awaited, so that a driver that cannot stop
 * still hands over what it opened, for the pool to close; the deadline no
 * longer applies and its timer is cleared.
 */
export function connectWithin(driver: Driver, { timeoutMs, target, signal }: ConnectDeadline): Promise<DriverConnection> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onClose = (): void => {
    clearTimeout(timer);
    controller.abort(signal.reason);
  };
  if (signal.aborted) onClose();
  else signal.addEventListener('abort', onClose, { once: true });
  const opening = driver.connect(controller.signal);
  const done = (): void => {
    clearTimeout(timer);
    signal.removeEventListener('abort', onClose);
  };
  opening.then(done, done);
  if (!Number.isFinite(timeoutMs) || signal.aborted) return opening;
  return new Promise<DriverConnection>((resolve, reject) => {
    let late = false;
    // Ref'd, like the acquire timer: whoever awaits this connect must hear back.
    timer = setTimeout(() => {
      late = true;
      const error = new DOMException(`${target} did not answer within ${timeoutMs} ms (connectTimeoutMs)`, 'TimeoutError');
      controller.abort(error);
      reject(error);
    }, timeoutMs);
    opening.then(
      (connection) => (late ? connection.close() : resolve(connection)),
      (error: unknown) => {
        if (!late) reject(error);
      },
    );
  });
}
