import { SQL } from '../support/fixture';
import { runReadCase } from '../support/read-case';

runReadCase({
  key: 'join-read',
  title: 'Join + group read',
  sql: SQL.join,
  batch: 50,
  withRawGet: false,
  clientRowsGoal: 3.5,
  arrayGoals: null,
}).catch((error) => {
  console.error(error);
  process.exit(1);
});
