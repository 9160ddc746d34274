import type { PreparedStatementCache } from '../../lib';
import { withPool } from '../support/helpers';

// What a lease tells its pool's statement cache about a statement it prepared.

test('a lease offers a first sighting untimed and a second sighting with its prepare time', async () => {
  await withPool({ max: 1 }, async (pool) => {
    const offer = jest.spyOn(pool.statementCache as PreparedStatementCache, 'offer');
    await pool.execute('select 1 as n');
    await pool.execute('select 1 as n');
    await pool.execute('select 1 as n');
    // The third run is a hit: nothing is offered.
    expect(offer.mock.calls.map((call) => [call[1], typeof call[3]])).toEqual([
      ['select 1 as n', 'undefined'],
      ['select 1 as n', 'number'],
    ]);
  });
});

test('texts each run once count as misses and refusals, and leave avgPrepareTimeUs at 0', async () => {
  await withPool({ max: 1 }, async (pool) => {
    for (let i = 0; i < 20; i++) expect((await pool.execute(`select ${i} as n`)).rows[0]!.n).toBe(i);
    expect(pool.stats().statementCache).toMatchObject({ hits: 0, misses: 20, admissionsRefused: 20, size: 0, avgPrepareTimeUs: 0 });
  });
});
