import { SQL } from '../support/fixture';
import { runReadCase } from '../support/read-case';

runReadCase({
  key: 'point-read',
  title: 'Point read by primary key',
  sql: SQL.point,
  batch: 100,
  withRawGet: true,
  clientRowsGoal: 4,
  arrayGoals: { vsClient: 5, vsRawAll: 0.9 },
}).catch((error) => {
  console.error(error);
  process.exit(1);
});
