import { nativeReadPath } from '../../lib/drivers/native';
import { useReadPath } from '../../lib/drivers/native-read';

// The native driver reads rows through libsql's addon functions when they
// pass their self-check, and through the documented `Statement.all()`
// otherwise. The suites below run on the native path in their own files;
// here they run again, whole, with every connection on the documented path.
useReadPath('documented');

test('the suites below read through Statement.all()', () => {
  expect(nativeReadPath()).toBe('documented');
});

/* eslint-disable @typescript-eslint/no-require-imports */
require('./conformance-values.test');
require('./conformance-results.test');
require('./conformance-schema.test');
require('./row-mode.test');
require('../drivers/native-driver.test');
require('../drivers/native-busy.test');
