import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

// An `async` listener fails by rejecting. Left unhandled, that rejection ends
// a Node process (Node 20's default), so these run in a child process, where it
// really would: jest's own handler would only fail the test. Each script prints
// what it observed; `alive` is printed only if the process outlived every
// rejection (an unhandled one is raised after the microtasks of its tick).

const LIB = JSON.stringify(join(__dirname, '..', '..', 'lib'));

function runScript(body: string) {
  const script = `
    const { AdaptiveConnectionPool } = require(${LIB});
    const tick = () => new Promise((resolve) => setImmediate(resolve));
    (async () => {
      ${body}
      await tick();
      console.log('alive');
    })().catch((e) => { console.log('failed ' + e.message); process.exitCode = 1; });`;
  return spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], {
    cwd: join(__dirname, '..', '..'),
    encoding: 'utf8',
    timeout: 30_000,
  });
}

test('an async listener that rejects is reported as listenerError, the others still run, and the process lives on', () => {
  const run = runScript(`
    const pool = new AdaptiveConnectionPool({ url: ':memory:' });
    const ran = [];
    const reported = [];
    for (const event of ['create', 'checkout', 'checkin', 'close']) {
      pool.on(event, async () => { throw new Error(event + ' failed'); });
      pool.on(event, () => ran.push(event));
    }
    pool.on('listenerError', ({ event, error }) => reported.push(event + ': ' + error.message));
    await pool.warmUp();
    await pool.execute('select 1');
    await pool.close();
    await tick();
    console.log('ran ' + ran.join(','));
    console.log('reported ' + reported.join(', '));`);
  expect(run.stdout.trim().split('\n')).toEqual([
    'ran create,checkout,checkin,close',
    'reported create: create failed, checkout: checkout failed, checkin: checkin failed, close: close failed',
    'alive',
  ]);
  expect(run.status).toBe(0);
});

test('an async cleanup callback that rejects is reported as listenerError, and the process lives on', () => {
  const run = runScript(`
    const pool = new AdaptiveConnectionPool({ url: ':memory:' });
    pool.setCleanupCallback(async (id) => { throw new Error('cleanup of ' + id + ' failed'); });
    pool.on('listenerError', ({ event, error }) => console.log(event + ': ' + error.message.replace(/\\d+/, 'N')));
    await pool.warmUp();
    await pool.close();`);
  expect(run.stdout.trim().split('\n')).toEqual(['cleanupCallback: cleanup of N failed', 'alive']);
  expect(run.status).toBe(0);
});

test('with no listenerError listener, a rejecting listener becomes a process warning, not a crash', () => {
  const run = runScript(`
    process.on('warning', (warning) => console.log('warning ' + warning.name + ': ' + warning.message));
    const pool = new AdaptiveConnectionPool({ url: ':memory:' });
    pool.on('checkout', async () => { throw new Error('checkout failed'); });
    await pool.warmUp();
    await pool.execute('select 1');
    await pool.close();
    await tick();`);
  expect(run.stdout.trim().split('\n')).toEqual([
    "warning LibsqlPoolWarning: libsql-pool: a 'checkout' listener threw: checkout failed",
    'alive',
  ]);
  expect(run.status).toBe(0);
});

test('a resource disposer that rejects is reported with its kind, and the process lives on', () => {
  const run = runScript(`
    const pool = new AdaptiveConnectionPool({ url: ':memory:' });
    const kind = pool.defineResource({ name: 'metrics', create: () => 1, dispose: async () => { throw new Error('flush failed'); } });
    pool.on('listenerError', ({ event, resource, error }) => console.log(event + ' ' + resource + ': ' + error.message));
    await pool.warmUp();
    await pool.use((lease) => lease.resource(kind));
    await pool.close();`);
  expect(run.stdout.trim().split('\n')).toEqual(['dispose metrics: flush failed', 'alive']);
  expect(run.status).toBe(0);
});
