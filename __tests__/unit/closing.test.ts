import { Closing, type CloseSteps } from '../../lib/pool/closing';

afterEach(() => {
  jest.useRealTimers();
});

/** Steps that record their calls; `busy` says whether anything is left open. */
function steps(busy: () => boolean) {
  const calls: string[] = [];
  const s: CloseSteps = {
    stop: () => calls.push('stop'),
    pump: () => calls.push('pump'),
    busy,
    closeAll: () => calls.push('closeAll'),
  };
  return { calls, steps: s };
}

describe('Closing', () => {
  test('is not started until close() is called', () => {
    expect(new Closing().started).toBe(false);
  });

  test('is started as soon as close() is called, before anything settles', () => {
    const closing = new Closing();
    void closing.close(1000, steps(() => false).steps);
    expect(closing.started).toBe(true);
  });

  test('stops admitting, then pumps, and is done at once when nothing is open', async () => {
    const { calls, steps: s } = steps(() => false);
    await new Closing().close(1000, s);
    expect(calls).toEqual(['stop', 'pump']);
  });

  test('every call returns the same promise and runs the steps once', async () => {
    const closing = new Closing();
    const { calls, steps: s } = steps(() => false);
    const first = closing.close(1000, s);
    expect(closing.close(0, s)).toBe(first);
    await first;
    expect(calls).toEqual(['stop', 'pump']);
  });

  test('waits until drained, then closes what is left', async () => {
    jest.useFakeTimers();
    const closing = new Closing();
    const { calls, steps: s } = steps(() => true);
    let done = false;
    void closing.close(60_000, s).then(() => (done = true));
    await jest.advanceTimersByTimeAsync(1_000);
    expect(done).toBe(false);
    closing.drained();
    await jest.advanceTimersByTimeAsync(0);
    expect(done).toBe(true);
    expect(calls).toEqual(['stop', 'pump', 'closeAll']);
  });

  test('closes what is left when the timeout comes first', async () => {
    jest.useFakeTimers();
    const { calls, steps: s } = steps(() => true);
    let done = false;
    void new Closing().close(1_000, s).then(() => (done = true));
    await jest.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
    expect(calls).toEqual(['stop', 'pump', 'closeAll']);
  });

  test('drained before closing started changes nothing', async () => {
    const closing = new Closing();
    closing.drained();
    expect(closing.started).toBe(false);
  });
});
