import { createClient, type Client } from '@libsql/client';
import { startSqld, type SqldServer } from '../../scripts/sqld';
import { createPool, type AdaptiveConnectionPool } from '../../lib';
import { find, measure, measureOptions, type VariantSpec } from '../support/measure';
import { usPerOp } from '../support/notes';
import { emitReport, ratioOf, type Comparison, type VariantResult } from '../support/protocol';

/**
 * The pool against `@libsql/client` on a real `sqld` on 127.0.0.1, over
 * `ws://` and `http://`: a point read, one caller at a time and 50 at once.
 *
 * Explicit columns: a remote `SELECT *` on the pool also runs `PRAGMA
 * schema_version` in the same round trip (README "Remote server"), which
 * would time something else.
 */
const ROWS = 100;
const SQL = 'select id, v from t where id = ?';
type Protocol = 'ws' | 'http';

/**
 * Sequential reads per tinybench iteration. A read over http takes ~3 ms on
 * this machine (about 8x ws), so its batches are smaller: every sample still
 * lasts 10 ms or more, and the case stays under a minute.
 */
const SEQ_BATCH: Record<Protocol, number> = { ws: 20, http: 5 };
/** Statements in the batch variants: inserts in one write transaction, as `client.batch` sends them. */
const BATCH = 200;
const BATCH_STMTS = Array.from({ length: BATCH }, (_, i) => ({ sql: 'insert into b (v) values (?)', args: [`batch-${i}`] }));
/** Callers at once, and the reads they share per iteration. */
const CONCURRENCY = 50;
const CONC_BATCH: Record<Protocol, number> = { ws: 200, http: 100 };

interface Side {
  protocol: Protocol;
  pool: AdaptiveConnectionPool;
  client: Client;
}

function idCycler(): () => number {
  let id = 0;
  return () => (id = (id % ROWS) + 1);
}

/** `batch` reads by `CONCURRENCY` loops that share one counter. */
function concurrently(batch: number, read: (id: number) => Promise<unknown>, next: () => number): () => Promise<unknown> {
  return () => {
    let left = batch;
    const loop = async () => {
      while (left > 0) {
        left--;
        await read(next());
      }
    };
    return Promise.all(Array.from({ length: CONCURRENCY }, loop));
  };
}

async function main(): Promise<void> {
  const started = performance.now();
  let server: SqldServer | undefined;
  const sides: Side[] = [];
  try {
    server = await startSqld();
    const setup = createClient({ url: server.httpUrl });
    await setup.execute('create table t (id integer primary key, v text not null)');
    await setup.execute('create table b (id integer primary key, v text not null)');
    await setup.batch(
      Array.from({ length: ROWS }, (_, i) => ({ sql: 'insert into t (id, v) values (?, ?)', args: [i + 1, `value-${i + 1}`] })),
      'write',
    );
    setup.close();

    for (const protocol of ['ws', 'http'] as const) {
      const url = protocol === 'ws' ? server.wsUrl : server.httpUrl;
      // Defaults on both sides: the pool's max 10, the client's concurrency 20.
      sides.push({ protocol, pool: await createPool({ url }), client: createClient({ url }) });
    }

    // Same answer from both, or the comparison means nothing.
    for (const { protocol, pool, client } of sides) {
      const ours = await pool.execute(SQL, [7]);
      const theirs = await client.execute({ sql: SQL, args: [7] });
      const a = JSON.stringify({ columns: ours.columns, rows: ours.rows.map((r) => Array.from(r)) });
      const b = JSON.stringify({ columns: theirs.columns, rows: theirs.rows.map((r) => Array.from(r)) });
      if (a !== b || ours.rows.length !== 1) throw new Error(`${protocol}: pool returned ${a}, client returned ${b}`);
    }

    const variants: VariantSpec[] = [];
    // The pool's variants first, the client's last (it makes the most garbage).
    for (const who of ['pool', 'client'] as const) {
      for (const { protocol, pool, client } of sides) {
        const next = idCycler();
        const read =
          who === 'pool'
            ? (id: number) => pool.execute(SQL, [id])
            : (id: number) => client.execute({ sql: SQL, args: [id] });
        const call = who === 'pool' ? 'pool.execute(sql, [id])' : '@libsql/client client.execute';
        variants.push(
          {
            name: `${who}-${protocol}`,
            label: `${call}, ${protocol}, sequential`,
            opsPerIteration: SEQ_BATCH[protocol],
            fn: async () => {
              for (let i = 0, n = SEQ_BATCH[protocol]; i < n; i++) await read(next());
            },
          },
          {
            name: `${who}-${protocol}-batch${BATCH}`,
            label: `${who === 'pool' ? 'pool.batch' : '@libsql/client client.batch'}, ${protocol}, ${BATCH} inserts`,
            opsPerIteration: 1,
            fn: () => (who === 'pool' ? pool.batch(BATCH_STMTS, 'write') : client.batch(BATCH_STMTS, 'write')),
          },
          {
            name: `${who}-${protocol}-c${CONCURRENCY}`,
            label: `${call}, ${protocol}, ${CONCURRENCY} at once`,
            opsPerIteration: CONC_BATCH[protocol],
            fn: concurrently(CONC_BATCH[protocol], read, next),
            ...(who === 'pool'
              ? {
                  extra: () => {
                    const s = pool.stats();
                    return { poolSize: s.size, poolTarget: s.target, created: s.totals.created };
                  },
                }
              : {}),
          },
        );
      }
    }

    // Fewer minimum iterations than the local cases (10): an http batch of 50 at once takes ~0.2 s, and the
    // connections are open already. The 600 ms per variant and round still decides for every other variant.
    const options = measureOptions({ iterations: 5, warmupIterations: 3 });
    const results = await measure(variants, options);

    const compare = (protocol: Protocol, suffix: string, goal: number | null, goalText: string): Comparison => {
      const subject = find(results, `pool-${protocol}${suffix}`);
      const baseline = find(results, `client-${protocol}${suffix}`);
      const ratio = ratioOf(subject, baseline);
      const met = goal === null || ratio === null ? null : ratio >= goal;
      const c: Comparison = {
        subject: `pool-${protocol}${suffix}`,
        baseline: `client-${protocol}${suffix}`,
        ratio,
        goal,
        goalText,
        met,
      };
      if (met === false && subject !== undefined && baseline !== undefined) c.note = missNote(results, protocol, subject, baseline);
      return c;
    };
    const comparisons = [
      compare('ws', '', 2, '>= 2x client (ws, sequential)'),
      compare('http', '', 2, '>= 2x client (http, sequential)'),
      compare('ws', `-c${CONCURRENCY}`, null, 'reference, no goal'),
      compare('http', `-c${CONCURRENCY}`, null, 'reference, no goal'),
      compare('ws', `-batch${BATCH}`, null, 'reference, no goal'),
      compare('http', `-batch${BATCH}`, null, 'reference, no goal'),
    ];

    emitReport({
      case: 'remote',
      title: 'Remote (ws and http against sqld)',
      status: 'ok',
      variants: results,
      comparisons,
      notes: [
        `A local sqld (${server.wsUrl}), table t(id, v) with ${ROWS} rows, \`${SQL}\`. Sequential: ` +
          `${SEQ_BATCH.ws} (ws) / ${SEQ_BATCH.http} (http) reads per iteration, one after the other. ${CONCURRENCY} at ` +
          `once: ${CONCURRENCY} loops share ${CONC_BATCH.ws} (ws) / ${CONC_BATCH.http} (http) reads per iteration. ` +
          `At least ${options.iterations} iterations per variant and round (600 ms decides for the fast ones). ` +
          'Defaults on both sides: the pool max 10 (adaptive), the client concurrency 20. A pooled connection is one ' +
          'long-lived Hrana stream; the client opens and closes a stream per call. Over http that costs the client no ' +
          'extra request: its execute and the close of its stream go in one pipeline POST, so both sides make one ' +
          'HTTP request per read. Batch: ' +
          `${BATCH} inserts in one write transaction per iteration; both sides send a batch as one Hrana request.`,
      ],
      env: {
        sql: SQL,
        rows: ROWS,
        sequentialBatchWs: SEQ_BATCH.ws,
        sequentialBatchHttp: SEQ_BATCH.http,
        concurrency: CONCURRENCY,
        concurrentBatchWs: CONC_BATCH.ws,
        concurrentBatchHttp: CONC_BATCH.http,
        minIterations: options.iterations,
        warmupIterations: options.warmupIterations,
      },
      durationMs: Math.round(performance.now() - started),
    });
  } finally {
    for (const { pool, client } of sides) {
      await pool.close({ timeoutMs: 0 }).catch(() => undefined);
      client.close();
    }
    await server?.dispose();
  }
}

function missNote(results: VariantResult[], protocol: Protocol, subject: VariantResult, baseline: VariantResult): string {
  const us = (v: VariantResult) => `${usPerOp(v).toFixed(0)} µs`;
  const other = find(results, `pool-${protocol === 'ws' ? 'http' : 'ws'}`);
  return [
    `ratio ${(subject.opsPerSec / baseline.opsPerSec).toFixed(3)}: pool ${us(subject)} per read vs client ` +
      `${us(baseline)} (${protocol}, one at a time on localhost)`,
    protocol === 'http'
      ? 'both sides make one HTTP request per read (the client sends its execute and the close of its stream in one ' +
        'pipeline POST), so a long-lived stream saves no round trip here: the time is the request itself'
      : undefined,
    other ? `the pool over ${protocol === 'ws' ? 'http' : 'ws'} takes ${us(other)}` : undefined,
  ]
    .filter(Boolean)
    .join('; ');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
