import type { LibsqlError } from '@libsql/core/api';
import { isInMemoryConfig } from '@libsql/core/config';
import { expandClientConfig, type ClientView } from './client-config';
import { PoolError } from './errors';

/** A database file on this machine, opened through `libsql`. */
export interface FileTarget {
  readonly kind: 'file';
  /** What `libsql` opens. */
  readonly path: string;
  /** The token for `syncUrl`, from `?authToken=` or the option. */
  readonly authToken: string | undefined;
  readonly encryptionKey: string | undefined;
  /** The primary this file is an embedded replica of. */
  readonly syncUrl: string | undefined;
  /** Background sync period of the replica, in seconds. */
  readonly syncInterval: number | undefined;
}

/** An in-memory database: it exists only on the connection that opened it. */
export interface MemoryTarget {
  readonly kind: 'memory';
  /** What `libsql` opens: `file::memory:`, with its query (`?cache=shared`) if any. */
  readonly path: string;
}

/** A libSQL server (sqld, Turso), reached over Hrana. */
export interface ServerTarget {
  readonly kind: 'server';
  /**
   * `ws` for `ws:` and `wss:` URLs, `http` for `http:` and `https:`; a
   * `libsql:` URL is `ws` for a pool and `http` for the drop-in client (see `UrlOptions.asClient`).
   */
  readonly protocol: 'ws' | 'http';
  /** The server's base URL, with the scheme that says whether it uses TLS. */
  readonly url: string;
  readonly authToken: string | undefined;
}

/** The database a URL names, and what is needed to reach it: plain data, nothing opened. */
export type Target = FileTarget | MemoryTarget | ServerTarget;

/** What goes with a URL in `@libsql/client`'s config, and so in `PoolConfig`. */
export interface UrlOptions {
  authToken?: string | undefined;
  encryptionKey?: string | undefined;
  syncUrl?: string | undefined;
  syncInterval?: number | undefined;
  /** Whether a `libsql:` URL uses TLS, as the client's `tls` (`?tls=` in the URL wins). */
  tls?: boolean | undefined;
  /**
   * Read the config as `createClient` does, for `createPooledClient`: a
   * `libsql:` URL means HTTP, as in the client on Node, and what the client
   * ignores (a `syncUrl` beside a server URL, a `syncInterval` without
   * `syncUrl`, a server URL without a host) is ignored rather than refused.
   * Otherwise a `libsql:` URL means WebSocket and those are configuration
   * mistakes, refused. @default false
   */
  asClient?: boolean | undefined;
}

/**
 * Reads `url` as `@libsql/client` does, through the client's own expansion
 * (`expandClientConfig`), so a URL means the same database to both and every
 * URL the client refuses is refused here too. Throws `PoolError`
 * `INVALID_CONFIG`, with the client's error as `cause` where it is the client's
 * rule that failed.
 */
export function readUrl(url: string, options: UrlOptions = {}): Target {
  const strict = options.asClient !== true;
  let view: ClientView;
  try {
    view = expandClientConfig(
      {
        url,
        authToken: options.authToken,
        encryptionKey: options.encryptionKey,
        syncUrl: options.syncUrl,
        syncInterval: options.syncInterval,
        tls: options.tls,
      },
      !strict,
    );
  } catch (error) {
    // The message names the fields at fault, as every INVALID_CONFIG does.
    const why = (error as Error).message;
    const fields =
      (error as LibsqlError).code === 'ENCRYPTION_KEY_NOT_SUPPORTED'
        ? ' with `encryptionKey`, which is for local files'
        : why.includes('Embedded replica')
          ? ' with `syncUrl`, which makes a local file an embedded replica'
          : '';
    const message = `Invalid \`url\` ${JSON.stringify(url)}${fields}: ${why}`;
    throw new PoolError('INVALID_CONFIG', message, { cause: error });
  }
  const fail = (why: string) => new PoolError('INVALID_CONFIG', `Invalid \`url\` ${JSON.stringify(url)}: ${why}`);
  const target = locate(view, strict, fail);
  if (strict && options.syncUrl !== undefined && target.kind !== 'file') {
    throw new PoolError('INVALID_CONFIG', '`syncUrl` makes a local file an embedded replica; `url` must be a "file:" path');
  }
  if (strict && options.syncInterval !== undefined && options.syncUrl === undefined) {
    throw new PoolError('INVALID_CONFIG', '`syncInterval` needs `syncUrl`');
  }
  if (target.kind !== 'file') return target;
  // A `syncInterval` without `syncUrl` means nothing to the client, which drops it.
  const syncUrl = options.syncUrl;
  return {
    ...target,
    encryptionKey: options.encryptionKey,
    syncUrl,
    syncInterval: syncUrl === undefined ? undefined : options.syncInterval,
  };
}

type Located = MemoryTarget | ServerTarget | Pick<FileTarget, 'kind' | 'path' | 'authToken'>;

function locate(view: ClientView, strict: boolean, fail: (why: string) => PoolError): Located {
  if (view.serverUrl !== undefined) {
    // The client would take `http:///x` as the host `x`: surely a typo, refused
    // by the pool's own API, followed by the drop-in client.
    if (strict && (view.authority === undefined || view.authority.host === '')) throw fail('a server URL needs a host');
    return {
      kind: 'server',
      protocol: view.scheme === 'ws' || view.scheme === 'wss' ? 'ws' : 'http',
      url: view.serverUrl.toString(),
      authToken: view.authToken,
    };
  }
  if (isInMemoryConfig(view)) return { kind: 'memory', path: `file:${view.path}` };
  if (view.path === '') {
    // SQLite would open a private temporary database per connection: each
    // caller would see a different, empty database. The client accepts it, but
    // a pool spreads calls over connections, so data written by one call would
    // vanish for the next; both APIs refuse it (see docs/drop-in.md).
    throw fail('the file path is empty');
  }
  return { kind: 'file', path: view.path, authToken: view.authToken };
}
