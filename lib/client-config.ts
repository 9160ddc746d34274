import { LibsqlError, type Config } from '@libsql/core/api';
import { expandConfig, isInMemoryConfig, type ExpandedConfig } from '@libsql/core/config';
import { encodeBaseUrl } from '@libsql/core/uri';
import { supportedUrlLink } from '@libsql/core/util';

/** `expandConfig`'s result, with the server's base URL built as the client builds it. */
export interface ClientView extends ExpandedConfig {
  /** The base URL the client would talk to; `undefined` for a local database. */
  readonly serverUrl: URL | undefined;
}

/**
 * Reads `config` exactly as `@libsql/client`'s `createClient` does before it
 * opens anything, and throws what it throws, with the same class, code and
 * message: a `TypeError` for a config that is not an object (a URL string
 * passed by mistake) or an unknown `intMode`, and `LibsqlError`
 * `URL_INVALID`, `URL_SCHEME_NOT_SUPPORTED`, `URL_PARAM_NOT_SUPPORTED` or
 * `ENCRYPTION_KEY_NOT_SUPPORTED` for a URL the client refuses.
 *
 * The rules common to every client (query parameters, `libsql:` and `tls`,
 * schemes, fragments) are `@libsql/core`'s own `expandConfig`, called here, so
 * they cannot drift. The few checks the client makes afterwards, in the
 * constructor of each of its transports, are not exported by it; they are
 * repeated below in its words, and the parity tests run every one of them
 * against `createClient` itself.
 *
 * `preferHttp` is what a `libsql:` URL means: `true` for HTTP, as the client
 * on Node, `false` for WebSocket.
 */
export function expandClientConfig(config: unknown, preferHttp: boolean): ClientView {
  const expanded = expandConfig(config as Config, preferHttp);
  const { scheme } = expanded;
  if (scheme === 'file') {
    checkFileUrl(expanded);
    return { ...expanded, serverUrl: undefined };
  }
  if (expanded.encryptionKey !== undefined) {
    throw new LibsqlError('Encryption key is not supported by the remote client.', 'ENCRYPTION_KEY_NOT_SUPPORTED');
  }
  if ((scheme === 'ws' || scheme === 'http') && expanded.tls) {
    throw new LibsqlError(`A "${scheme}:" URL cannot opt into TLS by using ?tls=1`, 'URL_INVALID');
  }
  if ((scheme === 'wss' || scheme === 'https') && !expanded.tls) {
    throw new LibsqlError(`A "${scheme}:" URL cannot opt out of TLS by using ?tls=0`, 'URL_INVALID');
  }
  // The client builds its base URL the same way, and a URL the WHATWG parser
  // refuses (`http://`) throws its `TypeError` from here, as it does there.
  return { ...expanded, serverUrl: encodeBaseUrl(scheme, expanded.authority, expanded.path) };
}

/** The checks of the client's local transport (`sqlite3.js`), in its words. */
function checkFileUrl(expanded: ExpandedConfig): void {
  const { authority } = expanded;
  if (authority !== undefined) {
    const host = authority.host.toLowerCase();
    if (host !== '' && host !== 'localhost') {
      throw new LibsqlError(
        `Invalid host in file URL: ${JSON.stringify(authority.host)}. ` +
          'A "file:" URL with an absolute path should start with one slash ("file:/absolute/path.db") ' +
          'or with three slashes ("file:///absolute/path.db"). ' +
          `For more information, please read ${supportedUrlLink}`,
        'URL_INVALID',
      );
    }
    if (authority.port !== undefined) throw new LibsqlError('File URL cannot have a port', 'URL_INVALID');
    if (authority.userinfo !== undefined) {
      throw new LibsqlError('File URL cannot have username and password', 'URL_INVALID');
    }
  }
  if (isInMemoryConfig(expanded) && expanded.syncUrl) {
    throw new LibsqlError(
      `Embedded replica must use file for local db but URI with in-memory mode were provided instead: ${expanded.path}`,
      'URL_INVALID',
    );
  }
}
