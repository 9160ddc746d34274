import { expandConfig, isInMemoryConfig } from '@libsql/core/config';
import { encodeBaseUrl } from '@libsql/core/uri';
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
  /** `ws` for `ws:`, `wss:` and `libsql:` URLs; `http` for `http:` and `https:`. */
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
}

/**
 * Reads `url` as `@libsql/client` does, with the same checks, so a URL means
 * the same database to both. Throws `PoolError` `INVALID_CONFIG`.
 */
export function readUrl(url: string, options: UrlOptions = {}): Target {
  const target = locate(url, options.authToken, options.encryptionKey !== undefined);
  if (options.syncUrl !== undefined && target.kind !== 'file') {
    throw new PoolError('INVALID_CONFIG', '`syncUrl` makes a local file an embedded replica; `url` must be a "file:" path');
  }
  if (options.syncInterval !== undefined && options.syncUrl === undefined) {
    throw new PoolError('INVALID_CONFIG', '`syncInterval` needs `syncUrl`');
  }
  if (target.kind !== 'file') return target;
  return {
    ...target,
    encryptionKey: options.encryptionKey,
    syncUrl: options.syncUrl,
    syncInterval: options.syncInterval,
  };
}

type Located = MemoryTarget | ServerTarget | Pick<FileTarget, 'kind' | 'path' | 'authToken'>;

function locate(url: string, authToken: string | undefined, encrypted: boolean): Located {
  const fail = (why: string, cause?: unknown) =>
    new PoolError('INVALID_CONFIG', `Invalid \`url\` ${JSON.stringify(url)}: ${why}`, { cause });
  let expanded: ReturnType<typeof expandConfig>;
  try {
    // `libsql:` means WebSocket here (the client's default for Node is HTTP):
    // a pooled connection is a long-lived stream, which a socket serves best.
    expanded = expandConfig({ url, authToken }, false);
  } catch (error) {
    throw fail((error as Error).message, error);
  }
  const { scheme, authority } = expanded;
  if (scheme !== 'file') {
    if (encrypted) throw fail('`encryptionKey` is for local files; a server encrypts its own storage');
    if ((scheme === 'ws' || scheme === 'http') && expanded.tls) throw fail(`a "${scheme}:" URL cannot use TLS`);
    if ((scheme === 'wss' || scheme === 'https') && !expanded.tls) throw fail(`a "${scheme}:" URL always uses TLS`);
    if (authority === undefined || authority.host === '') throw fail('a server URL needs a host');
    return {
      kind: 'server',
      protocol: scheme === 'ws' || scheme === 'wss' ? 'ws' : 'http',
      url: encodeBaseUrl(scheme, authority, expanded.path).toString(),
      authToken: expanded.authToken,
    };
  }
  if (authority !== undefined) {
    const host = authority.host.toLowerCase();
    if ((host !== '' && host !== 'localhost') || authority.port !== undefined || authority.userinfo !== undefined) {
      throw fail(
        'a "file:" URL has no host, port or credentials; write an absolute path as "file:/abs/path.db" or "file:///abs/path.db"',
      );
    }
  }
  if (isInMemoryConfig(expanded)) return { kind: 'memory', path: `file:${expanded.path}` };
  if (expanded.path === '') {
    // SQLite would open a private temporary database per connection: each
    // caller would see a different, empty database.
    throw fail('the file path is empty');
  }
  return { kind: 'file', path: expanded.path, authToken: expanded.authToken };
}
