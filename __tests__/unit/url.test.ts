import { readUrl } from '../../lib';

// readUrl reads a URL as @libsql/client does, into plain data that says which
// database it names; the drivers open what it describes.

describe('readUrl', () => {
  test('a file: URL names a local file, with what goes with it', () => {
    expect(readUrl('file:app.db?authToken=t', { encryptionKey: 'k', syncUrl: 'http://127.0.0.1:8080', syncInterval: 5 })).toEqual({
      kind: 'file',
      path: 'app.db',
      authToken: 't',
      encryptionKey: 'k',
      syncUrl: 'http://127.0.0.1:8080',
      syncInterval: 5,
    });
  });

  test.each([':memory:', 'file::memory:'])('%s names an in-memory database', (url) => {
    expect(readUrl(url)).toEqual({ kind: 'memory', path: 'file::memory:' });
  });

  test('a server URL names a server, its scheme saying whether it uses TLS', () => {
    expect(readUrl('libsql://db.internal', { authToken: 'jwt' })).toEqual({
      kind: 'server',
      protocol: 'ws',
      url: 'wss://db.internal/',
      authToken: 'jwt',
    });
    expect(readUrl('http://127.0.0.1:8080')).toMatchObject({ kind: 'server', protocol: 'http', url: 'http://127.0.0.1:8080/' });
  });

  test('the result is plain data', () => {
    const target = readUrl('ws://127.0.0.1:8080');
    expect(JSON.parse(JSON.stringify(target))).toEqual(target);
  });

  test.each([
    ['a replica of an in-memory database', ':memory:', { syncUrl: 'http://127.0.0.1:8080' }, /syncUrl/],
    ['a replica of a server', 'ws://127.0.0.1:8080', { syncUrl: 'http://127.0.0.1:8080' }, /syncUrl/],
    ['a sync interval with no replica', 'file:app.db', { syncInterval: 5 }, /syncInterval/],
    ['an encrypted server', 'ws://127.0.0.1:8080', { encryptionKey: 'k' }, /url.*encryptionKey/],
    ['an empty file path', 'file:', {}, /url.*empty/],
  ])('%s is INVALID_CONFIG', (_name, url, options, message) => {
    const read = () => readUrl(url, options);
    expect(read).toBePoolError('INVALID_CONFIG');
    expect(read).toThrow(message);
  });
});
