import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';

// Every example runs here as a user would run it (`ts-node --transpile-only`,
// in a child process), and its output is checked, so none of them rots. None
// of them may leave a file in the repository: they work in temporary folders.

jest.setTimeout(60_000);

const ROOT = join(__dirname, '..', '..');

/** Build output, installs and generated docs: not the repository's files. */
const NOT_OURS = new Set(['.git', 'node_modules', 'dist', 'coverage', join('docs', 'api')]);

/** Every file and folder of the repository, relative to its root. */
function repositoryFiles(dir = ROOT, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const rel = relative(ROOT, path);
    if (NOT_OURS.has(rel) || rel.endsWith('.tmp')) continue;
    out.push(rel);
    if (entry.isDirectory()) repositoryFiles(path, out);
  }
  return out;
}

let before: string[];
beforeAll(() => {
  before = repositoryFiles();
});

afterAll(() => {
  // Outside a test, a failed expect would not fail the run: throw instead.
  const left = repositoryFiles().filter((f) => !before.includes(f));
  if (left.length > 0) throw new Error(`examples left files in the repository: ${left.join(', ')}`);
});

/** Starts `examples/<name>.ts` as `npx ts-node --transpile-only` would (without npx's start-up). */
function start(name: string, env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join('examples', `${name}.ts`)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs an example to its end. */
async function run(name: string, env?: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = start(name, env);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  return { code, stdout, stderr };
}

/** Expects a clean run: exit code 0 and nothing on stderr (no warnings, no stack traces). */
function expectClean(result: { code: number | null; stdout: string; stderr: string }): string[] {
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  return result.stdout.trimEnd().split('\n');
}

test('quickstart.ts', async () => {
  const out = expectClean(await run('quickstart'));
  for (const heading of ['workload:', 'stats:', 'close:']) expect(out).toContain(heading);
  expect(out).toContainEqual(expect.stringMatching(/^ {2}pool is [\d.]+x @libsql\/client$/));
});

test('transactions.ts', async () => {
  expect(expectClean(await run('transactions'))).toEqual([
    'transfer committed: alice 70, bob 30',
    'transfer rolled back (SQLITE_CONSTRAINT): alice 70, bob 30',
    'two concurrent transfers committed: alice 65, bob 35',
    'lease transaction committed: alice 65, bob 36',
    'batch failed at statement 1 (SQLITE_CONSTRAINT); nothing applied: alice 65, bob 36',
    'inside: 1 lease held; others still see: alice 65, bob 36',
    'client transaction committed: alice 130, bob 36, leases held 0',
  ]);
});

test('events-and-cache.ts', async () => {
  const out = expectClean(await run('events-and-cache'));
  expect(out[0]).toMatch(/^\[create\] +#\d+$/);
  expect(out).toContainEqual(expect.stringMatching(/^\[close\] +#\d+ maxUses, cached now 0$/));
  expect(out).toContainEqual("[listenerError] 'checkin' listener threw: a buggy listener");
  expect(out).toContainEqual('cache: 1 hits, 3 misses, 2 evicted by close, size 1');
  expect(out.slice(-4)).toEqual([
    'own cache before close: true',
    expect.stringMatching(/^\[close\] +#\d+ poolClosed, cached now 0$/),
    'own cache after close: false',
    'totals: created 2, closed by maxUses 1, poolClosed 1',
  ]);
});

test('connection-resources.ts', async () => {
  expect(expectClean(await run('connection-resources'))).toEqual([
    expect.stringMatching(/^\[close\] #\d+ maxUses, cached now 0$/),
    expect.stringMatching(/^\[close\] #\d+ maxUses, cached now 0$/),
    expect.stringMatching(/^rows: 3, statement cache hits: \d+$/),
    expect.stringMatching(/^\[close\] #\d+ poolClosed, cached now 0$/),
    // close() resolved after the last asynchronous flush.
    expect.stringMatching(/^flushed #\d+: 2 queries \(maxUses\)$/),
    expect.stringMatching(/^flushed #\d+: 2 queries \(maxUses\)$/),
    expect.stringMatching(/^flushed #\d+: 1 queries \(poolClosed\)$/),
  ]);
});

test('remote-sqld.ts starts a sqld of its own, runs over WebSocket and HTTP, and removes it', async () => {
  const out = expectClean(await run('remote-sqld', { LIBSQL_URL: '' }));
  const started = /^started sqld on 127\.0\.0\.1:\d+ in (.+)$/.exec(out[0]!);
  expect(started).not.toBeNull();
  const session = (protocol: string) => [
    `connected over ${protocol}`,
    'before commit: others see 2 rows',
    'after commit: first, second, third',
    expect.stringMatching(/^connections \d+, statement cache hits [1-9]\d*$/),
  ];
  expect(out.slice(1)).toEqual([...session('ws'), ...session('http'), 'stopped sqld and removed its folder']);
  expect(existsSync(started![1]!)).toBe(false);
});

test('remote-sqld.ts uses the server LIBSQL_URL names (here, the run’s sqld)', async () => {
  const out = expectClean(await run('remote-sqld', { LIBSQL_URL: process.env.LIBSQL_POOL_TEST_SQLD_WS! }));
  expect(out).toEqual([
    'connected over ws',
    'before commit: others see 2 rows',
    'after commit: first, second, third',
    expect.stringMatching(/^connections \d+, statement cache hits [1-9]\d*$/),
  ]);
});

test('drizzle.ts', async () => {
  const out = expectClean(await run('drizzle'));
  expect(out.slice(0, 5)).toEqual([
    'inside the transaction: 1 connection held',
    'rolled back: nothing deleted',
    'Emma by Jane Austen',
    'Persuasion by Jane Austen',
    'Frankenstein by Mary Shelley',
  ]);
  expect(out[5]).toMatch(/^statement cache: \d+ hits, \d+ misses$/);
});

test('otel-metrics.ts', async () => {
  expect(expectClean(await run('otel-metrics'))).toEqual([
    'db.client.connection.create_time count 1',
    'db.client.connection.wait_time count 3',
    'db.client.connection.use_time count 3',
    'db.client.connection.count{state=idle} 1',
    'db.client.connection.count{state=used} 0',
    'db.client.connection.max 1',
    'db.client.connection.pending_requests 0',
    'db.client.connection.timeouts 1',
  ]);
});

test('http-server.ts serves requests and, on SIGTERM, finishes the one in flight and exits 0', async () => {
  const child = start('http-server');
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const lines: string[] = [];
  const waiters: Array<{ match: RegExp; resolve: (line: string) => void }> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const w of waiters.splice(0)) (w.match.test(line) ? w.resolve(line) : waiters.push(w));
  });
  /** Resolves with the first output line (past or future) that matches. */
  const line = (match: RegExp) =>
    new Promise<string>((resolve) => {
      const seen = lines.find((l) => match.test(l));
      if (seen !== undefined) resolve(seen);
      else waiters.push({ match, resolve });
    });
  try {
    const port = Number((await line(/^listening on port \d+$/)).split(' ').pop());
    const base = `http://127.0.0.1:${port}`;
    for (const expected of [1, 2, 3]) {
      const res = await fetch(`${base}/hits`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ hits: expected });
    }
    // A slow request is in flight (the server says so) when SIGTERM arrives.
    const slow = fetch(`${base}/slow?ms=400`);
    await line(/^slow request started/);
    child.kill('SIGTERM');
    await line(/^SIGTERM/);
    // No new connections are accepted...
    await expect(fetch(`${base}/hits`)).rejects.toThrow();
    // ...but the one in flight completes.
    const res = await slow;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ slow: true, hits: 4 });
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
    expect(lines.at(-1)).toMatch(/^pool closed after \d+ checkouts; bye$/);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});
