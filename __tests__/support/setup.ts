// A rejection nobody handled is a bug in the pool or in a test: fail loudly.
process.on('unhandledRejection', (reason) => {
  throw reason;
});

// expect(…).toBePoolError(code)
import './matchers';
