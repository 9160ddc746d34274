import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { AdaptiveConnectionPool, createPool, isPoolError } from '../../lib';

// A server that accepts the socket and never answers (a hung process, a
// half-open load balancer): without a deadline a connect waits for ever, and
// the socket it holds keeps the process alive.
jest.setTimeout(60_000);

interface SilentServer {
  readonly port: number;
  /** Resolves once a client has connected. */
  readonly accepted: Promise<void>;
  /** How many sockets were accepted so far. */
  readonly count: () => number;
  /** Resolves once every socket accepted so far has been closed by the client. */
  readonly allClosed: () => Promise<void>;
  readonly close: () => Promise<void>;
}

async function silentServer(): Promise<SilentServer> {
  const sockets: Socket[] = [];
  const closed: Array<Promise<unknown>> = [];
  let accept!: () => void;
  const accepted = new Promise<void>((resolve) => (accept = resolve));
  const server: Server = createServer((socket) => {
    sockets.push(socket);
    closed.push(once(socket, 'close'));
    // Reads and drops what it is sent (a socket never read from would not see
    // the client's FIN), and says nothing.
    socket.resume();
    socket.on('error', () => undefined);
    accept();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    port,
    accepted,
    count: () => sockets.length,
    allClosed: async () => {
      await Promise.all(closed);
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

let server: SilentServer;
beforeEach(async () => {
  server = await silentServer();
});
afterEach(async () => {
  await server.close();
});

const urlFor = (protocol: string) => `${protocol}://127.0.0.1:${server.port}`;

describe.each(['ws', 'http'])('a connect over %s to a server that never answers', (protocol) => {
  test('fails createPool with CONNECT_FAILED once connectTimeoutMs is up, the timeout as cause', async () => {
    const failure: unknown = await createPool({ url: urlFor(protocol), connectTimeoutMs: 200 }).catch((e: unknown) => e);
    expect(isPoolError(failure, 'CONNECT_FAILED')).toBe(true);
    const cause = (failure as Error).cause as Error;
    expect(cause.name).toBe('TimeoutError');
    expect(cause.message).toContain(`127.0.0.1:${server.port}`);
    expect(cause.message).toContain('200 ms');
  });

  test('that times out closes the socket it opened', async () => {
    await expect(createPool({ url: urlFor(protocol), connectTimeoutMs: 200 })).rejects.toBePoolError('CONNECT_FAILED');
    expect(server.count()).toBeGreaterThan(0);
    // Hangs (and fails on jest's timeout) if a socket is left open.
    await server.allClosed();
  });

  test('is cancelled by close(): warmUp rejects, the closing pool as cause, and the socket is closed', async () => {
    const pool = new AdaptiveConnectionPool({ url: urlFor(protocol), connectTimeoutMs: 600_000 });
    const warming = pool.warmUp();
    await server.accepted;
    await pool.close();
    await expect(warming).rejects.toBePoolError('CONNECT_FAILED', { cause: { code: 'POOL_CLOSED' } });
    await server.allClosed();
  });

  test('cancelled by close() leaves nothing behind: the process exits by itself', async () => {
    // The connect's own deadline is far off: only close() can end it.
    const script = `
      const { AdaptiveConnectionPool } = require(${JSON.stringify(join(__dirname, '..', '..', 'lib'))});
      const pool = new AdaptiveConnectionPool({ url: process.env.SILENT_URL, connectTimeoutMs: 600000 });
      pool.warmUp().then(() => console.log('opened'), (e) => console.log('warmUp ' + e.cause.code));
      process.once('message', () => {
        pool.close().then(() => {
          console.log('closed');
          process.disconnect();
        });
      });`;
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], {
      cwd: join(__dirname, '..', '..'),
      env: { ...process.env, SILENT_URL: urlFor(protocol) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // A hang guard, not a timing assertion: a child still running then is killed, and fails below.
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    try {
      const exited = once(child, 'exit');
      await server.accepted;
      child.send('close');
      const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
      expect({ code, signal, stderr }).toEqual({ code: 0, signal: null, stderr: '' });
      expect(stdout.trim().split('\n').sort()).toEqual(['closed', 'warmUp POOL_CLOSED']);
      await server.allClosed();
    } finally {
      clearTimeout(guard);
      child.kill('SIGKILL');
    }
  });
});
