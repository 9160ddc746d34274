import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createPool } from '../../lib';
import { tempDir } from '../support/helpers';

test('DDL through one pool refreshes the statements another pool on the same file has cached', async () => {
  const dir = tempDir();
  const [a, b] = [await createPool({ url: dir.url() }), await createPool({ url: dir.url() })];
  try {
    await a.execute('CREATE TABLE t(v INTEGER)');
    await a.execute('INSERT INTO t VALUES (1)');
    expect((await a.execute('SELECT v FROM t')).columnTypes).toEqual(['INTEGER']);
    for (const sql of ['DROP TABLE t', 'CREATE TABLE t(v TEXT)', "INSERT INTO t VALUES ('2')"]) await b.execute(sql);
    const after = await a.execute('SELECT v FROM t');
    expect(after.columnTypes).toEqual(['TEXT']);
    expect(after.rows.map((r) => r.v)).toEqual(['2']);
  } finally {
    await Promise.all([a.close(), b.close()]);
    dir.dispose();
  }
});

// What the process keeps per database file can only be seen going away
// through the garbage collector, so this runs in a child with --expose-gc.
test('a database file no open pool uses keeps no schema epoch in the process', () => {
  const lib = join(__dirname, '..', '..', 'lib');
  const script = `
    const { createPool } = require(${JSON.stringify(lib)});
    const { schemaEpochsHeld } = require(${JSON.stringify(join(lib, 'drivers', 'schema-epochs'))});
    const dir = require('node:fs').mkdtempSync(require('node:path').join(require('node:os').tmpdir(), 'libsql-pool-'));
    (async () => {
      const kept = await createPool({ url: 'file:' + dir + '/kept.db' });
      await kept.execute('SELECT 1');
      const tenant = async (i) => {
        const pool = await createPool({ url: 'file:' + dir + '/tenant-' + i + '.db' });
        await pool.execute('SELECT 1');
        await pool.close();
      };
      for (let i = 0; i < 40; i++) await tenant(i);
      console.log('while open ' + schemaEpochsHeld());
      for (let i = 0; i < 50 && schemaEpochsHeld() > 1; i++) {
        global.gc();
        await new Promise((resolve) => setImmediate(resolve));
      }
      console.log('after close ' + schemaEpochsHeld());
      await kept.execute('CREATE TABLE t(v)');
      console.log('kept works ' + (await kept.execute('SELECT count(*) AS n FROM t')).rows[0].n);
      await kept.close();
      require('node:fs').rmSync(dir, { recursive: true, force: true });
    })().catch((e) => { console.log('failed ' + e); process.exitCode = 1; });`;
  const run = spawnSync(process.execPath, ['--expose-gc', '-r', 'ts-node/register/transpile-only', '-e', script], {
    cwd: join(__dirname, '..', '..'),
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(run.stdout.trim().split('\n')).toEqual(['while open 41', 'after close 1', 'kept works 0']);
  expect(run.status).toBe(0);
});
