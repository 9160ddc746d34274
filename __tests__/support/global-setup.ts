import { startSqld, type SqldServer } from '../../scripts/sqld';

declare global {
  // eslint-disable-next-line no-var
  var __SQLD__: SqldServer | undefined;
}

/**
 * One real sqld for the whole run, on a free 127.0.0.1 port with a temporary
 * database. Tests read its address from the environment (workers inherit it);
 * tests that stop or wipe a server start their own with `startSqld()`.
 */
export default async function globalSetup(): Promise<void> {
  const server = await startSqld();
  globalThis.__SQLD__ = server;
  process.env.LIBSQL_POOL_TEST_SQLD_HTTP = server.httpUrl;
  process.env.LIBSQL_POOL_TEST_SQLD_WS = server.wsUrl;
}
