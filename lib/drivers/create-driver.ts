import type { IntMode } from '@libsql/client';
import type { Target } from '../url';
import type { Driver } from './driver';
import { NativeDriver } from './native';
import { RemoteDriver } from './remote';

/** How a driver reads and waits, besides where the database is. */
export interface DriverOptions {
  /** How integers come back, as `@libsql/client`'s `intMode`. @default 'number' */
  readonly intMode?: IntMode | undefined;
  /** Local files: how long a statement waits for a lock held elsewhere before `SQLITE_BUSY`. @default 5000 */
  readonly busyTimeoutMs?: number | undefined;
  /** Local files: put the database in WAL mode, so readers run beside a writer. @default true */
  readonly wal?: boolean | undefined;
  /** HTTP: what every request goes through, as `@libsql/client`'s `fetch`. @default globalThis.fetch */
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- the client's own type for `fetch`.
  readonly fetch?: Function | undefined;
  /** HTTP and embedded replicas: the key of a database the server stores encrypted, as the client's. */
  readonly remoteEncryptionKey?: string | undefined;
  /** Embedded replicas: passed to `libsql`, as by the client. */
  readonly readYourWrites?: boolean | undefined;
  /** Embedded replicas: passed to `libsql`, as by the client. */
  readonly offline?: boolean | undefined;
}

/** The defaults of `DriverOptions`, which are also the pool's. */
export const DRIVER_DEFAULTS = Object.freeze({
  intMode: 'number',
  busyTimeoutMs: 5_000,
  wal: true,
} as const satisfies Required<Pick<DriverOptions, 'intMode' | 'busyTimeoutMs' | 'wal'>>);

/**
 * The driver for `target` (see `readUrl`): `libsql` for a local file or an
 * in-memory database, Hrana for a server.
 */
export function createDriver(target: Target, options: DriverOptions = {}): Driver {
  const intMode = options.intMode ?? DRIVER_DEFAULTS.intMode;
  if (target.kind === 'server') {
    return new RemoteDriver({
      url: new URL(target.url),
      protocol: target.protocol,
      authToken: target.authToken,
      intMode,
      fetch: options.fetch as typeof globalThis.fetch | undefined,
      remoteEncryptionKey: options.remoteEncryptionKey,
    });
  }
  const local = {
    intMode,
    busyTimeoutMs: options.busyTimeoutMs ?? DRIVER_DEFAULTS.busyTimeoutMs,
    wal: options.wal ?? DRIVER_DEFAULTS.wal,
  };
  if (target.kind === 'memory') return new NativeDriver({ ...local, path: target.path, memory: true });
  return new NativeDriver({
    ...local,
    path: target.path,
    memory: false,
    authToken: target.authToken,
    encryptionKey: target.encryptionKey,
    syncUrl: target.syncUrl,
    syncInterval: target.syncInterval,
    remoteEncryptionKey: options.remoteEncryptionKey,
    readYourWrites: options.readYourWrites,
    offline: options.offline,
  });
}
