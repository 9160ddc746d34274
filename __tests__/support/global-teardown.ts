import type { SqldServer } from '../../scripts/sqld';

/** How long the closing write may take before the run's sqld counts as stuck. */
const PROBE_MS = 10_000;

/**
 * Stops the run's sqld. First it checks that the server still takes a write
 * (sqld takes the write lock from an idle transaction after 5 s, so a healthy
 * server answers well within `PROBE_MS`). If it does not, it says so, with
 * what sqld wrote to stderr: once sqld stops taking writes, every remote test
 * after that point times out, and without this note the cause is lost with the
 * server's temporary folder.
 */
export default async function globalTeardown(): Promise<void> {
  const server = globalThis.__SQLD__;
  if (server === undefined) return;
  const stuck = await probeWrite(server);
  if (stuck !== undefined) {
    process.stderr.write(
      `\nThe run's sqld (${server.httpUrl}) did not take a write at the end of the run: ${stuck}\n` +
        `sqld's stderr (last 4,000 characters):\n${server.stderr() || '(empty)'}\n`,
    );
  }
  await server.dispose();
}

/** Takes and gives back the write lock over Hrana's HTTP pipeline; says why not, if it cannot. */
async function probeWrite(server: SqldServer): Promise<string | undefined> {
  const requests = [{ type: 'execute', stmt: { sql: 'BEGIN IMMEDIATE' } }, { type: 'execute', stmt: { sql: 'ROLLBACK' } }, { type: 'close' }];
  try {
    const response = await fetch(`${server.httpUrl}/v2/pipeline`, {
      method: 'POST',
      body: JSON.stringify({ baton: null, requests }),
      signal: AbortSignal.timeout(PROBE_MS),
    });
    const body = (await response.json()) as { results?: Array<{ type: string }> };
    const failed = body.results?.find((result) => result.type !== 'ok');
    return response.ok && failed === undefined ? undefined : `HTTP ${response.status}, ${JSON.stringify(body).slice(0, 500)}`;
  } catch (error) {
    return String(error);
  }
}
