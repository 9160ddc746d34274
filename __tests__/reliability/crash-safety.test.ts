import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import fc from 'fast-check';
import { createPool } from '../../lib';
import { tempDir } from '../support/helpers';
import { transpileLib } from '../support/transpile-lib';

// A writer process is killed with SIGKILL at random moments (after a random
// number of acknowledged transactions, timed by its own output, not by
// sleeps). After each kill the database is reopened through the pool: every
// id the writer printed (it prints an id only after `pool.transaction`
// returned, that is after COMMIT) must be there, whole, and
// `PRAGMA integrity_check` must say 'ok'. The next writer carries on from the
// recovered file. Two writers on two files run side by side to keep the
// wall time down; the kill points come from fast-check (CRASH_SEED replays).
//
// The writer runs this checkout's lib/ sources, transpiled once by the test
// with TypeScript's transpileModule (what `node -r ts-node/register/transpile-only`
// does, but once instead of at each of the 20+ starts: that alone took ~1 s
// per start).

const LANES = 2;
const KILLS_PER_LANE = Number(process.env.CRASH_KILLS_PER_LANE ?? 11);
const MAX_IDS_BEFORE_KILL = 40;
const SEED = Number(process.env.CRASH_SEED ?? Date.now() % 2 ** 31);
const ROOT = resolve(__dirname, '..', '..');
const PARTS = 3;


/** The writer: two concurrent transaction loops on one pool, each printing ids it committed. */
const writer = (lib: string) => `
const { createPool } = require(${JSON.stringify(lib)});
(async () => {
  const pool = await createPool({ url: process.env.DB_URL, max: 2 });
  await pool.use((c) => c.executeMultiple(
    'CREATE TABLE IF NOT EXISTS items(id INTEGER, part INTEGER, payload BLOB, PRIMARY KEY (id, part));' +
    'CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, n INTEGER NOT NULL);' +
    "INSERT OR IGNORE INTO meta VALUES ('txns', 0);"));
  let next = Number((await pool.execute('SELECT coalesce(max(id), 0) AS m FROM items')).rows[0].m) + 1;
  process.stdout.write('ready\\n');
  const loop = async () => {
    for (;;) {
      const id = next++;
      try {
        await pool.transaction(async (tx) => {
          for (let part = 0; part < ${PARTS}; part++) {
            await tx.execute('INSERT INTO items VALUES (?, ?, randomblob(512))', [id, part]);
          }
          await tx.execute("UPDATE meta SET n = n + 1 WHERE k = 'txns'");
        });
      } catch (error) {
        if (error && error.code === 'SQLITE_BUSY') continue; // the other loop held the lock too long
        throw error;
      }
      process.stdout.write(id + '\\n'); // synchronous on a pipe: printed means written
    }
  };
  await Promise.all([loop(), loop()]);
})().catch((error) => {
  process.stderr.write(String(error && error.stack || error) + '\\n');
  process.exit(1);
});
`;

const tmp = tempDir();
afterAll(() => tmp.dispose());

interface Life {
  printed: number[];
  exit: { code: number | null; signal: NodeJS.Signals | null };
  stderr: string;
}

/** Starts a writer and SIGKILLs it as soon as it has printed `killAfter` ids. */
function runWriter(script: string, url: string, killAfter: number): Promise<Life> {
  return new Promise((resolveLife, reject) => {
    const child = spawn(process.execPath, [script], {
      cwd: ROOT,
      // The transpiled lib lives in a temp dir: its packages come from this checkout.
      env: { ...process.env, DB_URL: url, NODE_PATH: join(ROOT, 'node_modules') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const printed: number[] = [];
    let stderr = '';
    let killed = false;
    // A writer that stops printing is a hang (or a crash): fail rather than wait for ever.
    let watchdog = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (killed || line === 'ready') return;
      printed.push(Number(line));
      clearTimeout(watchdog);
      watchdog = setTimeout(() => child.kill('SIGKILL'), 20_000);
      if (printed.length >= killAfter) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(watchdog);
      resolveLife({ printed, exit: { code, signal }, stderr });
    });
  });
}

/** Reopens the database with the pool and checks it against what the writers printed. */
async function verify(url: string, acknowledged: Set<number>) {
  const pool = await createPool({ url, max: 1 });
  try {
    const integrity = (await pool.execute('PRAGMA integrity_check')).rows.map((r) => r[0]);
    const rows = await pool.execute('SELECT id, count(*) AS parts FROM items GROUP BY id');
    const present = new Map(rows.rows.map((r) => [Number(r.id), Number(r.parts)]));
    const missing = [...acknowledged].filter((id) => !present.has(id));
    const partial = [...present].filter(([, parts]) => parts !== PARTS).map(([id]) => id);
    const txns = Number((await pool.execute("SELECT n FROM meta WHERE k = 'txns'")).rows[0]!.n);
    return { integrity, missing, partial, txns, ids: present.size };
  } finally {
    await pool.close();
  }
}

test(`SIGKILL at ${LANES * KILLS_PER_LANE} random moments never loses an acknowledged transaction nor corrupts the file`, async () => {
  const script = join(tmp.dir, 'writer.js');
  writeFileSync(script, writer(transpileLib(tmp.dir)));
  const killPoints = fc.sample(
    fc.array(fc.integer({ min: 1, max: MAX_IDS_BEFORE_KILL }), { minLength: KILLS_PER_LANE, maxLength: KILLS_PER_LANE }),
    { numRuns: LANES, seed: SEED },
  );
  const started = performance.now();
  const lanes = killPoints.map(async (points, lane) => {
    const url = tmp.url(`crash-${lane}.db`);
    const acknowledged = new Set<number>();
    let kills = 0;
    for (const killAfter of points) {
      const life = await runWriter(script, url, killAfter);
      if (life.exit.signal !== 'SIGKILL' || life.printed.length < killAfter) {
        throw new Error(
          `writer (lane ${lane}, seed ${SEED}) ended with ${JSON.stringify(life.exit)} after ${life.printed.length} ids:\n${life.stderr}`,
        );
      }
      kills++;
      for (const id of life.printed) acknowledged.add(id);
      const state = await verify(url, acknowledged);
      const context = `lane ${lane}, kill ${kills} after ${killAfter} ids (CRASH_SEED=${SEED})`;
      expect({ context, ...state, integrity: state.integrity }).toMatchObject({
        context,
        integrity: ['ok'],
        missing: [],
        partial: [],
      });
      // Every whole transaction counted itself once: no half-applied one survived.
      expect(state.txns).toBe(state.ids);
    }
    return { kills, acknowledged: acknowledged.size };
  });
  const results = await Promise.all(lanes);
  const kills = results.reduce((n, r) => n + r.kills, 0);
  expect(kills).toBeGreaterThanOrEqual(20);
  if (process.env.CRASH_REPORT !== undefined || process.env.SOAK === '1') {
    const ids = results.reduce((n, r) => n + r.acknowledged, 0);
    console.log(
      `crash safety: ${kills} SIGKILLs, ${ids} acknowledged transactions all present, integrity ok, ` +
        `${((performance.now() - started) / 1000).toFixed(1)} s (seed ${SEED})`,
    );
  }
}, 120_000);
