import * as hrana from '@libsql/hrana-client';
import type { Driver, DriverConnection } from './driver';
import { mapHranaError } from './hrana';
import { RemoteConnection } from './remote-connection';
import type { RemoteDriverOptions } from './remote-options';

export type { RemoteDriverOptions } from './remote-options';

/**
 * A libSQL server (sqld, Turso) over Hrana. One pooled connection is one
 * long-lived stream, which is one server-side SQLite connection: session state
 * and transactions carry across calls, as on a local connection, and a round
 * trip to open and close a stream per call (what `@libsql/client` does) is
 * saved. Over WebSocket each connection has its own socket, so a socket that
 * dies takes one connection with it, not the pool.
 */
export class RemoteDriver implements Driver {
  readonly maxConnections = Number.POSITIVE_INFINITY;
  onBackpressure: (() => void) | undefined;
  readonly #options: RemoteDriverOptions;

  constructor(options: RemoteDriverOptions) {
    this.#options = options;
  }

  async connect(signal?: AbortSignal): Promise<DriverConnection> {
    signal?.throwIfAborted();
    const { url, authToken, protocol, remoteEncryptionKey } = this.#options;
    const send = this.#options.fetch ?? globalThis.fetch;
    // Closing an HTTP client does not end its requests in flight: a request to
    // a server that never answers would keep its socket, and the process, alive.
    // So the handshake's requests carry a signal of their own; later ones don't.
    // The signal rides on the `Request` itself, because a custom `fetch` is
    // called with the request alone, as the client calls it.
    const handshake = new AbortController();
    let dialing = true;
    const fetchDuringHandshake = (request: Request): Promise<Response> =>
      dialing ? send(new Request(request, { signal: handshake.signal })) : send(request);
    let client: hrana.WsClient | hrana.HttpClient;
    try {
      // Protocol 3 where the server has it, for `getAutocommit()`.
      client =
        protocol === 'ws'
          ? hrana.openWs(url, authToken, 3)
          : hrana.openHttp(url, authToken, fetchDuringHandshake, remoteEncryptionKey, 3);
    } catch (error) {
      throw mapHranaError(error);
    }
    const abandon = (): void => {
      handshake.abort(signal?.reason);
      client.close();
    };
    signal?.addEventListener('abort', abandon, { once: true });
    try {
      const version = await client.getVersion();
      const connection = new RemoteConnection(client, version, this.#options, () => this.onBackpressure?.());
      // One round trip now, so a bad URL or token fails here and not on first use.
      await connection.ping();
      signal?.throwIfAborted();
      return connection;
    } catch (error) {
      abandon();
      throw signal?.aborted ? signal.reason : mapHranaError(error);
    } finally {
      dialing = false;
      signal?.removeEventListener('abort', abandon);
    }
  }
}

