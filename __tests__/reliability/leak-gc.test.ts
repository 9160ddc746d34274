import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

// A lease dropped without release can only be observed through the garbage
// collector, so this runs in a child process with --expose-gc.
test('a lease garbage-collected without release is reported as collected, and its connection comes back', () => {
  const script = `
    const { createPool } = require(${JSON.stringify(join(__dirname, '..', '..', 'lib'))});
    (async () => {
      const pool = await createPool({ url: ':memory:', leakDetectionMs: 60000, acquireTimeoutMs: 2000 });
      pool.on('leak', (e) => console.log('leak ' + e.state + ' ' + (e.stack.includes('forget') ? 'with stack' : 'no stack')));
      async function forget() {
        const lease = await pool.acquire();
        await lease.execute('select 1');
        // dropped here, never released
      }
      await forget();
      for (let i = 0; i < 50 && pool.stats().active > 0; i++) {
        global.gc();
        await new Promise((resolve) => setImmediate(resolve));
      }
      // max is 1 (:memory:): this only succeeds if the connection was taken back.
      const again = await pool.acquire();
      console.log('reacquired ' + ((await again.execute('select 2 as v')).rows[0].v));
      again.release();
      console.log('active ' + pool.stats().active);
      await pool.close();
    })().catch((e) => { console.log('failed ' + e.code); process.exitCode = 1; });`;
  const run = spawnSync(process.execPath, ['--expose-gc', '-r', 'ts-node/register/transpile-only', '-e', script], {
    cwd: join(__dirname, '..', '..'),
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(run.stdout.trim().split('\n')).toEqual(['leak collected with stack', 'reacquired 2', 'active 0']);
  expect(run.status).toBe(0);
});
