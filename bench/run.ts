/**
 * `npm run bench [-- <case>…] [--profile] [--list]`
 *
 * Runs each case in its own Node process (uncached paths slow down when cases
 * share a process and its GC), collects the
 * `CaseReport` each prints, then prints a markdown table and writes
 * bench/results/latest.{json,md,svg}. Running some cases only replaces their
 * rows in the existing latest.json.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CASES, type CaseEntry } from './cases';
import { RESULT_PREFIX, type CaseReport } from './support/protocol';
import { markdownTable, svgChart, type BenchResults } from './support/report';

const ROOT = resolve(__dirname, '..');
const RESULTS = join(ROOT, 'bench', 'results');
/** A case that takes longer than this is killed and reported as failed. */
const CASE_TIMEOUT_MS = Number(process.env.BENCH_CASE_TIMEOUT_MS ?? 180_000);
/** Outside the repository, so a profile is never committed by accident. */
const PROFILES = join(tmpdir(), 'libsql-pool-bench-profiles');

function usage(): string {
  return [
    'usage: npm run bench [-- <case>...] [--profile] [--list]',
    '',
    ...CASES.map((c) => `  ${c.key.padEnd(16)} ${c.measures}${c.skip ? ` (not run: ${c.skip})` : ''}`),
    '',
    `  --profile   run the cases with --cpu-prof, profiles in ${PROFILES}/`,
    '  env: BENCH_TIME_MS, BENCH_ROUNDS, BENCH_WARMUP_MS, BENCH_ONLY=<variant,...>, BENCH_TMPDIR',
  ].join('\n');
}

/** Runs one case in a child process and returns its report (or a failed one). */
function runCase(entry: CaseEntry, profile: boolean): Promise<CaseReport> {
  if (entry.skip !== undefined || entry.file === undefined) {
    return Promise.resolve({
      case: entry.key,
      title: entry.title,
      status: 'not-run',
      reason: entry.skip ?? 'no script',
      variants: [],
      comparisons: [],
      ranAt: new Date().toISOString(),
    });
  }
  const args = [
    '--expose-gc',
    ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${PROFILES}`, `--cpu-prof-name=${entry.key}.cpuprofile`] : []),
    ...(entry.nodeArgs ?? []),
    '-r',
    'ts-node/register/transpile-only',
    join(ROOT, entry.file),
  ];
  const started = performance.now();
  return new Promise((done) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let report: CaseReport | undefined;
    let buffered = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.startsWith(RESULT_PREFIX)) report = JSON.parse(line.slice(RESULT_PREFIX.length)) as CaseReport;
        else process.stderr.write(line + '\n');
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), CASE_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const durationMs = Math.round(performance.now() - started);
      if (report !== undefined && code === 0) {
        done({ ...report, ranAt: new Date().toISOString(), durationMs });
        return;
      }
      const why = signal === 'SIGKILL' ? `killed after ${CASE_TIMEOUT_MS} ms` : `exit ${code ?? signal}`;
      done({
        case: entry.key,
        title: entry.title,
        status: 'failed',
        reason: `${why} (see its stderr above)`,
        variants: [],
        comparisons: [],
        ranAt: new Date().toISOString(),
        durationMs,
      });
    });
  });
}

function machine(): Record<string, string | number> {
  const cpu = cpus();
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpu.length,
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    loadavg1mAtStart: Number(loadavg()[0]!.toFixed(2)),
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h') || argv.includes('--list')) {
    console.log(usage());
    return;
  }
  const profile = argv.includes('--profile');
  const names = argv.filter((a) => !a.startsWith('--'));
  const unknown = names.filter((n) => !CASES.some((c) => c.key === n));
  if (unknown.length > 0) {
    console.error(`unknown case: ${unknown.join(', ')}\n\n${usage()}`);
    process.exit(2);
  }
  const selected = names.length === 0 ? CASES : CASES.filter((c) => names.includes(c.key));
  mkdirSync(RESULTS, { recursive: true });

  const info = machine();
  const started = performance.now();
  const reports: CaseReport[] = [];
  for (const entry of selected) {
    process.stderr.write(`\n▶ ${entry.key}: ${entry.title}\n`);
    const report = await runCase(entry, profile);
    process.stderr.write(
      `  ${report.status}${report.reason ? `: ${report.reason}` : ''}` +
        (report.durationMs ? ` (${(report.durationMs / 1000).toFixed(1)} s)` : '') +
        '\n',
    );
    reports.push(report);
  }
  info.loadavg1mAtEnd = Number(loadavg()[0]!.toFixed(2));

  // A partial run replaces its cases in the last full results and keeps the others.
  const latestJson = join(RESULTS, 'latest.json');
  let cases = reports;
  if (names.length > 0 && existsSync(latestJson)) {
    const previous = JSON.parse(readFileSync(latestJson, 'utf8')) as BenchResults;
    cases = CASES.map(
      (c) => reports.find((r) => r.case === c.key) ?? previous.cases.find((r) => r.case === c.key),
    ).filter((r): r is CaseReport => r !== undefined);
  }
  const results: BenchResults = {
    generatedAt: new Date().toISOString(),
    machine: info,
    settings: {
      timeMsPerRound: process.env.BENCH_TIME_MS ?? 'default (600)',
      rounds: process.env.BENCH_ROUNDS ?? 'default (5)',
      casesRun: selected.map((c) => c.key).join(','),
      totalSeconds: Number(((performance.now() - started) / 1000).toFixed(1)),
    },
    cases,
  };
  const table = markdownTable(cases);
  writeFileSync(latestJson, JSON.stringify(results, null, 2) + '\n');
  writeFileSync(join(RESULTS, 'latest.md'), table + '\n');
  writeFileSync(join(RESULTS, 'latest.svg'), svgChart(results));
  process.stderr.write(
    `\nwrote bench/results/latest.json, latest.md, latest.svg in ${results.settings.totalSeconds} s` +
      (profile ? `; CPU profiles in ${PROFILES}/` : '') +
      '\n\n',
  );
  console.log(table);
  if (reports.some((r) => r.status === 'failed')) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
