import type { IntMode } from '@libsql/client';

/** What the remote driver needs to know of a server: where it is, how to reach it, how to read integers. */
export interface RemoteDriverOptions {
  /** The server's base URL, with a `ws:`, `wss:`, `http:` or `https:` scheme. */
  url: URL;
  protocol: 'ws' | 'http';
  authToken: string | undefined;
  intMode: IntMode;
  /** What every HTTP request goes through, called with a `Request`, as `@libsql/client`'s `fetch`. */
  fetch?: typeof globalThis.fetch | undefined;
  /** Sent with every HTTP request, as `@libsql/client`'s `remoteEncryptionKey`; WebSocket has no place for it. */
  remoteEncryptionKey?: string | undefined;
}
