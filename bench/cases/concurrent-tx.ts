import { createClient } from '@libsql/client';
import { createPool } from '../../lib';
import { SQL, createFixture } from '../support/fixture';
import { find, measure, measureOptions, type VariantSpec } from '../support/measure';
import { emitReport, type Comparison, type VariantResult } from '../support/protocol';

/** Transactions launched at once (one tinybench iteration). */
const N = 100;

/** Counts outcomes per side, so a failed transaction is reported rather than thrown. */
class Outcomes {
  attempted = 0;
  committed = 0;
  readonly errors = new Map<string, number>();
  fail(error: unknown): void {
    const code = (error as { code?: string })?.code ?? (error as Error)?.name ?? 'unknown';
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }
  extra(): Record<string, number | string> {
    const out: Record<string, number | string> = { attempted: this.attempted, committed: this.committed };
    for (const [code, count] of this.errors) out[`error:${code}`] = count;
    return out;
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const fx = createFixture();
  // Defaults: pool max 10 with the lock wait of README "Waiting for locks";
  // client concurrency 20 with libsql's busy timeout 0.
  const pool = await createPool({ url: fx.url });
  const client = createClient({ url: fx.url });
  const poolOut = new Outcomes();
  const clientOut = new Outcomes();
  let n = 0;

  const onPool = async (id: number): Promise<void> => {
    poolOut.attempted++;
    try {
      await pool.transaction(async (tx) => {
        const r = await tx.execute(SQL.readValue, [id]);
        await tx.execute(SQL.insert, ['pool', Number(r.rows[0]?.[0] ?? 0) + n++]);
      }, 'write');
      poolOut.committed++;
    } catch (error) {
      poolOut.fail(error);
    }
  };
  const onClient = async (id: number): Promise<void> => {
    clientOut.attempted++;
    let tx;
    try {
      tx = await client.transaction('write');
      const r = await tx.execute({ sql: SQL.readValue, args: [id] });
      await tx.execute({ sql: SQL.insert, args: ['client', Number(r.rows[0]?.[0] ?? 0) + n++] });
      await tx.commit();
      clientOut.committed++;
    } catch (error) {
      clientOut.fail(error);
    } finally {
      tx?.close();
    }
  };
  const launch = (run: (id: number) => Promise<void>) => () =>
    Promise.all(Array.from({ length: N }, (_, i) => run(i + 1)));

  const variants: VariantSpec[] = [
    {
      name: 'pool',
      label: 'pool.transaction × 100 (Promise.all)',
      opsPerIteration: N,
      fn: launch(onPool),
      extra: () => poolOut.extra(),
    },
    {
      name: 'client',
      label: "client.transaction('write') × 100 (Promise.all)",
      opsPerIteration: N,
      fn: launch(onClient),
      extra: () => clientOut.extra(),
    },
  ];
  const results = await measure(variants, measureOptions({ iterations: 5 }));
  const poolStats = pool.stats();
  await pool.close();
  client.close();
  fx.cleanup();

  // Committed transactions per second: the attempted rate times the share that committed.
  const committedRate = (r: VariantResult | undefined, o: Outcomes) =>
    r === undefined || o.attempted === 0 ? undefined : r.opsPerSec * (o.committed / o.attempted);
  const poolRate = committedRate(find(results, 'pool'), poolOut);
  const clientRate = committedRate(find(results, 'client'), clientOut);
  for (const r of results) {
    const o = r.name === 'pool' ? poolOut : clientOut;
    r.extra = { ...r.extra, committedPerSec: Math.round(committedRate(r, o) ?? 0) };
  }
  const ratio =
    poolRate === undefined || clientRate === undefined
      ? null
      : clientRate === 0
        ? Number.POSITIVE_INFINITY
        : poolRate / clientRate;
  const comparison: Comparison = {
    subject: 'pool',
    baseline: 'client',
    ratio,
    goal: 3,
    goalText: '>= 3x client (committed tx/s)',
    met: ratio === null ? null : ratio >= 3,
  };
  const cell = (rate: number | undefined, o: Outcomes) => {
    if (rate === undefined) return '–';
    const per100 = (k: number) => ((k / o.attempted) * N).toFixed(k === 0 ? 0 : 1).replace(/\.0$/, '');
    const errors = [...o.errors].map(([code, k]) => `${per100(k)} ${code}`).join(', ');
    return `${Math.round(rate).toLocaleString('en-US')} tx/s committed (${per100(o.committed)}/${N}${errors ? `; ${errors}` : ''})`;
  };
  comparison.subjectCell = cell(poolRate, poolOut);
  comparison.baselineCell = cell(clientRate, clientOut);
  const describe = (o: Outcomes) =>
    `${o.committed}/${o.attempted} committed` +
    (o.errors.size === 0 ? '' : ` (${[...o.errors].map(([c, k]) => `${k} ${c}`).join(', ')})`);
  emitReport({
    case: 'concurrent-tx',
    title: '100 concurrent interactive transactions',
    status: 'ok',
    variants: results,
    comparisons: [comparison],
    metrics: {
      poolCommittedPerSec: Math.round(poolRate ?? 0),
      clientCommittedPerSec: Math.round(clientRate ?? 0),
      poolConnectionsOpened: poolStats.totals.created,
      poolAcquireWaitP99Ms: Number(poolStats.acquireWaitMs.p99.toFixed(2)),
    },
    notes: [
      `ops/s is transactions attempted per second; the ratio compares committed transactions per second ` +
        `(attempted rate × committed share). pool: ${describe(poolOut)}; client: ${describe(clientOut)}.`,
    ],
    env: { transactionsPerIteration: N, poolMax: 10, clientConcurrency: 20 },
    durationMs: Math.round(performance.now() - started),
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
