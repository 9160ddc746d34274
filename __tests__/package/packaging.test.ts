import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';

// What a user gets from `npm install libsql-pool`: the packed tarball,
// installed into a fresh project beside the application's own
// `@libsql/client` and `libsql`, then used from CommonJS, from ESM, and from
// TypeScript under `node16` and `bundler` module resolution. Dependencies come
// from the npm registry (`--prefer-offline`: the npm cache where it holds them),
// so the test passes with an empty cache as with a full one.

jest.setTimeout(180_000);

const run = promisify(execFile);
/** What the application itself depends on. */
const APP_CLIENT = '0.18.0';
const APP_LIBSQL = '0.5.28';
const ROOT = join(__dirname, '..', '..');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

let work: string;
let consumer: string;
let files: string[];

/** Runs a command; on failure the error carries its stdout and stderr. */
async function sh(
  file: string,
  args: string[],
  cwd: string,
  options: { timeout?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  try {
    const { stdout } = await run(file, args, {
      cwd,
      timeout: options.timeout ?? 120_000,
      env: options.env ?? process.env,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const e = error as Error & { stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'libsql-pool-pack-'));
  await sh('npm', ['run', 'build'], ROOT);
  const packed = JSON.parse(await sh('npm', ['pack', '--json', '--pack-destination', work], ROOT)) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  files = packed[0]!.files.map((f) => f.path);
  consumer = join(work, 'consumer');
  mkdirSync(consumer);
  // The application pins its own `libsql` (an older one than the newest
  // @libsql/client accepts): the pool must use that copy, not bring a second.
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({
      name: 'consumer',
      version: '1.0.0',
      private: true,
      dependencies: {
        '@libsql/client': APP_CLIENT,
        libsql: APP_LIBSQL,
        'libsql-pool': `file:${join(work, packed[0]!.filename)}`,
      },
    }),
  );
  await sh('npm', ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', '--no-package-lock'], consumer);
});

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

test('the tarball holds both builds with their types, and no sources or tests', () => {
  for (const path of [
    'package.json',
    'README.md',
    'dist/lib/index.js',
    'dist/lib/index.d.ts',
    'dist/lib/pooled-client.js',
    'dist/lib/diagnostics.d.ts',
    'dist/esm/index.mjs',
    'dist/esm/index.d.mts',
  ]) {
    expect(files).toContain(path);
  }
  expect(files.filter((f) => /^(lib|__tests__|examples|bench|scripts)\//.test(f) || f.endsWith('.test.js'))).toEqual([]);
});

/** Every installed package named `libsql` under `dir`, as paths relative to the consumer. */
function libsqlCopies(dir: string): string[] {
  const found: string[] = [];
  const visit = (modules: string) => {
    if (!existsSync(modules)) return;
    for (const name of readdirSync(modules)) {
      if (name.startsWith('@')) {
        for (const scoped of readdirSync(join(modules, name))) visit(join(modules, name, scoped, 'node_modules'));
        continue;
      }
      const pkg = join(modules, name);
      if (name === 'libsql' && existsSync(join(pkg, 'package.json'))) found.push(relative(consumer, pkg));
      visit(join(pkg, 'node_modules'));
    }
  };
  visit(join(dir, 'node_modules'));
  return found;
}

test("one libsql is installed: the pool uses the application's copy, not one of its own", () => {
  expect(libsqlCopies(consumer)).toEqual([join('node_modules', 'libsql')]);
  const installed = JSON.parse(readFileSync(join(consumer, 'node_modules', 'libsql', 'package.json'), 'utf8')) as {
    version: string;
  };
  expect(installed.version).toBe(APP_LIBSQL);
});

// Two copies of SQLite in one process do not see each other's POSIX locks: a
// pooled write would run inside the client's open write transaction, and the
// client's COMMIT would then fail with SQLITE_IOERR.
test("the pool and the application's @libsql/client share one SQLite: each sees the other's locks", async () => {
  writeFileSync(
    join(consumer, 'locks.cjs'),
    `const { createClient } = require('@libsql/client');
const { createPool } = require('libsql-pool');
(async () => {
  const url = 'file:' + process.argv[2];
  const pool = await createPool({ url, max: 2, busyTimeoutMs: 100 });
  await pool.execute('CREATE TABLE t (x INTEGER)');
  const client = createClient({ url });
  const tx = await client.transaction('write');
  await tx.execute('INSERT INTO t VALUES (1)');
  const pooledWrite = await pool.execute('INSERT INTO t VALUES (2)').then(() => 'committed', (e) => e.code);
  const commit = await tx.commit().then(() => 'committed', (e) => e.code);
  const rows = (await pool.execute('SELECT x FROM t ORDER BY x')).rows.map((r) => r.x);
  const loaded = Object.keys(require.cache).filter((p) => /[\\/]node_modules[\\/]libsql[\\/]index\.js$/.test(p));
  client.close();
  await pool.close();
  console.log(JSON.stringify({ pooledWrite, commit, rows, loaded: loaded.map((p) => require('path').relative(process.cwd(), p)) }));
})().catch((e) => { console.error(e); process.exit(1); });
`,
  );
  const out = JSON.parse(await sh(process.execPath, ['locks.cjs', join(work, 'locks.db')], consumer));
  expect(out).toEqual({
    pooledWrite: 'SQLITE_BUSY',
    commit: 'committed',
    rows: [1],
    loaded: [join('node_modules', 'libsql', 'index.js')],
  });
});

const QUERY = `
  const pool = await createPool({ url: 'file:' + process.argv[2], max: 2 });
  await pool.execute('CREATE TABLE t (x INTEGER)');
  await pool.execute('INSERT INTO t VALUES (?)', [41]);
  const { rows } = await pool.execute('SELECT x + 1 AS y FROM t');
  const client = await createPooledClient({ url: 'file:' + process.argv[2] });
  const tx = await client.transaction('write');
  await tx.execute('INSERT INTO t VALUES (1)');
  await tx.commit();
  const n = (await client.execute('SELECT count(*) AS n FROM t')).rows[0].n;
  client.close();
  await client.pool.close();
  await pool.close();
`;

test('CommonJS: require("libsql-pool") runs a real query', async () => {
  writeFileSync(
    join(consumer, 'query.cjs'),
    `const { createPool, createPooledClient, PoolError } = require('libsql-pool');
(async () => {${QUERY}
  console.log(JSON.stringify({ y: rows[0].y, n, poolError: typeof PoolError, resolved: require.resolve('libsql-pool') }));
})().catch((e) => { console.error(e); process.exit(1); });
`,
  );
  const out = JSON.parse(await sh(process.execPath, ['query.cjs', join(work, 'cjs.db')], consumer));
  expect(out).toEqual({ y: 42, n: 2, poolError: 'function', resolved: join(consumer, 'node_modules/libsql-pool/dist/lib/index.js') });
});

test('ESM: import { createPool } from "libsql-pool" runs a real query, sharing the CommonJS classes', async () => {
  writeFileSync(
    join(consumer, 'query.mjs'),
    `import { createRequire } from 'node:module';
import { createPool, createPooledClient, PoolError, CREATE_CHANNEL } from 'libsql-pool';
import * as namespace from 'libsql-pool';
${QUERY}
const required = createRequire(import.meta.url)('libsql-pool');
console.log(JSON.stringify({
  y: rows[0].y,
  n,
  channel: CREATE_CHANNEL,
  sameClass: required.PoolError === PoolError,
  sameExports: Object.keys(required).filter((k) => k !== '__esModule').sort().join() === Object.keys(namespace).sort().join(),
  resolved: import.meta.resolve('libsql-pool'),
}));
`,
  );
  const out = JSON.parse(await sh(process.execPath, ['query.mjs', join(work, 'esm.db')], consumer));
  expect(out).toEqual({
    y: 42,
    n: 2,
    channel: 'libsql-pool:create',
    sameClass: true,
    sameExports: true,
    resolved: `file://${join(consumer, 'node_modules/libsql-pool/dist/esm/index.mjs')}`,
  });
});

/**
 * A consumer that uses createPool, typed events and createPooledClient; the
 * `@ts-expect-error` lines prove the types are real (not `any`).
 */
function typedConsumer(clientImport: string, clientType: string): string {
  return `
import { createPool, createPooledClient, isPoolError, PoolError, type CheckoutEvent, type PoolStats, type ResultSet } from 'libsql-pool';
${clientImport}

export async function main(url: string): Promise<number> {
  const pool = await createPool({ url, max: 2 });
  pool.on('checkout', (e: CheckoutEvent) => console.log(e.connectionId, e.waitedMs.toFixed(2)));
  pool.on('close', (e) => console.log(e.reason.toUpperCase()));
  // @ts-expect-error: no such event
  pool.on('no-such-event', () => undefined);
  // @ts-expect-error: the config is checked
  await createPool({ url, max: 'eight' }).catch(() => undefined);
  const stats: PoolStats = pool.stats();
  const client: ${clientType} = await createPooledClient({ url });
  const rs: ResultSet = await client.execute({ sql: 'SELECT ? AS x', args: [1] });
  const tx = await client.transaction('write');
  await tx.commit();
  try {
    await pool.acquire({ timeoutMs: 1 });
  } catch (error) {
    if (isPoolError(error, 'ACQUIRE_TIMEOUT') && error instanceof PoolError) console.log(error.code);
  }
  client.close();
  await pool.close();
  return stats.size + rs.rows.length;
}
`;
}

test('TypeScript: the declarations type-check a consumer under node16 (ESM and CJS) and bundler resolution', async () => {
  // ESM and bundler consumers can use @libsql/client's own `Client` type and check every declaration file.
  const esm = typedConsumer("import type { Client } from '@libsql/client';", 'Client');
  writeFileSync(join(consumer, 'typed-esm.mts'), esm);
  writeFileSync(join(consumer, 'typed-bundler.ts'), esm);
  // @libsql/client ships ESM-only declarations, which TypeScript will not let
  // CommonJS code import (TS1479/TS1541), in a consumer's code or in ours: a
  // CommonJS consumer needs `skipLibCheck` and types from 'libsql-pool'.
  writeFileSync(join(consumer, 'typed-cjs.cts'), typedConsumer("import type { PooledClient } from 'libsql-pool';", 'PooledClient'));
  const base = {
    target: 'ES2022',
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    types: ['node'],
    typeRoots: [join(ROOT, 'node_modules', '@types')],
  };
  const configs = {
    'tsconfig.esm.json': { compilerOptions: { ...base, module: 'node16', moduleResolution: 'node16' }, files: ['typed-esm.mts'] },
    'tsconfig.cjs.json': {
      compilerOptions: { ...base, module: 'node16', moduleResolution: 'node16', skipLibCheck: true },
      files: ['typed-cjs.cts'],
    },
    'tsconfig.bundler.json': { compilerOptions: { ...base, module: 'esnext', moduleResolution: 'bundler' }, files: ['typed-bundler.ts'] },
  };
  // One run each; the trace also tells where 'libsql-pool' resolved: the ESM
  // and bundler sides to index.d.mts, the CommonJS side to index.d.ts.
  const resolved: Record<string, string | undefined> = {};
  for (const [name, config] of Object.entries(configs)) {
    writeFileSync(join(consumer, name), JSON.stringify(config));
    const trace = await sh(process.execPath, [TSC, '-p', name, '--traceResolution'], consumer);
    resolved[name] = /'libsql-pool' was successfully resolved to '([^']*)'/.exec(trace)?.[1];
  }
  const types = (path: string) => join(consumer, 'node_modules', 'libsql-pool', path);
  expect(resolved).toEqual({
    'tsconfig.esm.json': types('dist/esm/index.d.mts'),
    'tsconfig.cjs.json': types('dist/lib/index.d.ts'),
    'tsconfig.bundler.json': types('dist/esm/index.d.mts'),
  });
});

// What a user gets from `npm install git+https://…` (or `git+file://` for a
// local clone): npm clones the repository, installs its dependencies there,
// runs its `prepare` script (the build) and packs the result. The package has
// no `dist/` in git, so without `prepare` the installed package cannot load.
describe('installed from a git URL', () => {
  let gitWork: string;
  let repo: string;
  let url: string;
  let app: string;

  beforeAll(async () => {
    gitWork = mkdtempSync(join(tmpdir(), 'libsql-pool-git-'));
    repo = join(gitWork, 'repo');
    await sh('git', ['clone', '--quiet', ROOT, repo], gitWork);
    // The clone holds HEAD. Uncommitted edits, new files and deletions in the
    // working tree (not ignored files such as node_modules or dist) are
    // committed on top of it in the clone, so what is installed is what is
    // being tested; with a clean working tree the clone's HEAD is the
    // repository's. The repository itself is only read.
    const git = ['--git-dir', join(repo, '.git'), '--work-tree', ROOT];
    await sh('git', [...git, 'add', '--all'], ROOT);
    if ((await sh('git', [...git, 'status', '--porcelain'], ROOT)).trim() !== '') {
      await sh(
        'git',
        [
          ...git,
          '-c', 'user.name=libsql-pool packaging test',
          '-c', 'user.email=packaging-test@localhost',
          '-c', 'commit.gpgsign=false',
          'commit', '--quiet', '--no-verify', '-m', 'The working tree under test',
        ],
        ROOT,
      );
    }
    url = `git+file://${repo}`;
    app = join(gitWork, 'app');
    mkdirSync(app);
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({
        name: 'git-consumer',
        version: '1.0.0',
        private: true,
        dependencies: { 'libsql-pool': url },
        // The build runs as the git dependency's `prepare` script, an install
        // script that npm's allowScripts policy asks the application to
        // approve (a warning today, an error under --strict-allow-scripts).
        allowScripts: { [url]: true },
      }),
    );
    // `npm test` exports this repository's `ignore-scripts=true` (.npmrc) to
    // its children; an application's install does not have it, and needs
    // scripts for the `prepare` of a git dependency.
    const env = { ...process.env };
    delete env.npm_config_ignore_scripts;
    // Cloning, installing the build's dependencies and compiling: slow on a
    // loaded machine with an empty npm cache; the timeout only guards against a hang.
    await sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--strict-allow-scripts'], app, {
      env,
      timeout: 480_000,
    });
  }, 600_000);

  afterAll(() => {
    if (gitWork !== undefined) rmSync(gitWork, { recursive: true, force: true });
  });

  test('npm installs the commit under test, built, without sources', async () => {
    const head = (await sh('git', ['-C', repo, 'rev-parse', 'HEAD'], gitWork)).trim();
    const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { resolved?: string }>;
    };
    expect(lock.packages['node_modules/libsql-pool']?.resolved).toBe(`${url}#${head}`);
    const installed = join(app, 'node_modules', 'libsql-pool');
    for (const path of ['dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/esm/index.mjs', 'dist/esm/index.d.mts']) {
      expect(existsSync(join(installed, path))).toBe(true);
    }
    expect(readdirSync(installed).sort()).toEqual(['README.md', 'dist', 'package.json']);
  });

  const MEMORY_QUERY = `
  const pool = await createPool({ url: ':memory:' });
  await pool.execute('CREATE TABLE t (x INTEGER)');
  await pool.execute('INSERT INTO t VALUES (?)', [41]);
  const { rows } = await pool.execute('SELECT x + 1 AS y FROM t');
  await pool.close();
`;

  test('CommonJS: require("libsql-pool") runs a query on :memory:', async () => {
    writeFileSync(
      join(app, 'query.cjs'),
      `const { createPool } = require('libsql-pool');
(async () => {${MEMORY_QUERY}
  console.log(JSON.stringify({ y: rows[0].y, resolved: require.resolve('libsql-pool') }));
})().catch((e) => { console.error(e); process.exit(1); });
`,
    );
    const out = JSON.parse(await sh(process.execPath, ['query.cjs'], app));
    expect(out).toEqual({ y: 42, resolved: join(app, 'node_modules/libsql-pool/dist/lib/index.js') });
  });

  test('ESM: import { createPool } from "libsql-pool" runs a query on :memory:', async () => {
    writeFileSync(
      join(app, 'query.mjs'),
      `import { createPool } from 'libsql-pool';
${MEMORY_QUERY}
console.log(JSON.stringify({ y: rows[0].y, resolved: import.meta.resolve('libsql-pool') }));
`,
    );
    const out = JSON.parse(await sh(process.execPath, ['query.mjs'], app));
    expect(out).toEqual({ y: 42, resolved: `file://${join(app, 'node_modules/libsql-pool/dist/esm/index.mjs')}` });
  });
});
