import { LibsqlError } from '@libsql/core/api';
import type { DriverConnection, Replicated } from '../../lib/drivers/driver';
import { SyncQueue, syncReplica } from '../../lib/pool/replica-sync';

const replicated: Replicated = { frames_synced: 1, frame_no: 1 };

/** A sync the test settles by hand, recording when it starts. */
function deferredSync(log: string[], name: string) {
  let settle!: { resolve: (r: Replicated) => void; reject: (e: unknown) => void };
  const run = () => {
    log.push(`start ${name}`);
    return new Promise<Replicated>((resolve, reject) => (settle = { resolve, reject }));
  };
  return { run, settle: () => settle };
}

describe('SyncQueue', () => {
  test('a second sync starts only once the first has settled', async () => {
    const log: string[] = [];
    const queue = new SyncQueue();
    const a = deferredSync(log, 'a');
    const b = deferredSync(log, 'b');
    const first = queue.run(a.run);
    const second = queue.run(b.run);
    await Promise.resolve();
    expect(log).toEqual(['start a']);
    a.settle().resolve(replicated);
    await first;
    await Promise.resolve();
    expect(log).toEqual(['start a', 'start b']);
    b.settle().resolve(replicated);
    await expect(second).resolves.toBe(replicated);
  });

  test('a failed sync rejects its own caller and does not stop the next', async () => {
    const queue = new SyncQueue();
    const failure = new Error('offline');
    const first = queue.run(() => Promise.reject(failure));
    const second = queue.run(() => Promise.resolve(replicated));
    await expect(first).rejects.toBe(failure);
    await expect(second).resolves.toBe(replicated);
  });
});

describe('syncReplica', () => {
  test('syncs a connection that has a replica', async () => {
    const connection = { sync: () => Promise.resolve(replicated) } as unknown as DriverConnection;
    await expect(syncReplica(connection)).resolves.toBe(replicated);
  });

  test('fails with SYNC_NOT_SUPPORTED where there is no replica', async () => {
    const failed = syncReplica({} as DriverConnection);
    await expect(failed).rejects.toBeInstanceOf(LibsqlError);
    await expect(failed).rejects.toMatchObject({ code: 'SYNC_NOT_SUPPORTED' });
  });
});
