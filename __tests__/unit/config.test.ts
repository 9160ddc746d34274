import { resolveConfig, type PoolConfig } from '../../lib/config';
import { FIELDS, type Field } from '../../lib/config-fields';
import { AdaptiveConnectionPool, PoolError, PreparedStatementCache } from '../../lib';

const url = 'file:app.db';

/** `[description, config, field-name pattern]`; each must throw INVALID_CONFIG naming the field. */
const invalidCases: Array<[string, unknown, RegExp]> = [
  // the config itself
  ['config undefined', undefined, /config/],
  ['config null', null, /config/],
  ['config a string', 'file:app.db', /config/],
  ['config an array', [{ url }], /config/],
  ['config a number', 42, /config/],
  // url
  ['url missing', {}, /url/],
  ['url empty', { url: '' }, /url/],
  ['url a number', { url: 5 }, /url/],
  ['url null', { url: null }, /url/],
  ['url an object', { url: new URL('file:///x.db') }, /url/],
  ['url scheme postgres', { url: 'postgres://x' }, /url/],
  ['url ws: asking for TLS', { url: 'ws://127.0.0.1:8080?tls=1' }, /url/],
  ['url wss: refusing TLS', { url: 'wss://127.0.0.1:8080?tls=0' }, /url/],
  ['url libsql: with tls=0 and no port', { url: 'libsql://127.0.0.1?tls=0' }, /url/],
  ['url http: with no host', { url: 'http:///x' }, /url/],
  ['url ws: with an encryptionKey', { url: 'ws://127.0.0.1:8080', encryptionKey: 'k' }, /url/],
  ['url file with a host', { url: 'file://host/x.db' }, /url/],
  ['url file with a port', { url: 'file://localhost:8080/x.db' }, /url/],
  ['url file with credentials', { url: 'file://user:pw@localhost/x.db' }, /url/],
  ['url with an unknown query param', { url: 'file:x.db?foo=bar' }, /url/],
  ['url not a URL', { url: 'not a url' }, /url/],
  // strings
  ['authToken a number', { url, authToken: 1 }, /authToken/],
  ['encryptionKey an object', { url, encryptionKey: {} }, /encryptionKey/],
  // intMode
  ['intMode "float"', { url, intMode: 'float' }, /intMode/],
  ['intMode a number', { url, intMode: 1 }, /intMode/],
  // min
  ['min negative', { url, min: -1 }, /\bmin\b/],
  ['min non-integer', { url, min: 1.5 }, /\bmin\b/],
  ['min NaN', { url, min: Number.NaN }, /\bmin\b/],
  ['min Infinity', { url, min: Number.POSITIVE_INFINITY }, /\bmin\b/],
  ['min a string', { url, min: '1' }, /\bmin\b/],
  // max
  ['max 0', { url, max: 0 }, /\bmax\b/],
  ['max non-integer', { url, max: 2.5 }, /\bmax\b/],
  ['max Infinity', { url, max: Number.POSITIVE_INFINITY }, /\bmax\b/],
  ['max a string', { url, max: '10' }, /\bmax\b/],
  ['max NaN', { url, max: Number.NaN }, /\bmax\b/],
  ['min > max', { url, min: 5, max: 2 }, /\bmin\b.*\bmax\b/],
  // acquireTimeoutMs
  ['acquireTimeoutMs 0', { url, acquireTimeoutMs: 0 }, /acquireTimeoutMs/],
  ['acquireTimeoutMs negative', { url, acquireTimeoutMs: -1 }, /acquireTimeoutMs/],
  ['acquireTimeoutMs NaN', { url, acquireTimeoutMs: Number.NaN }, /acquireTimeoutMs/],
  ['acquireTimeoutMs a string', { url, acquireTimeoutMs: '1000' }, /acquireTimeoutMs/],
  // idleTimeoutMs
  ['idleTimeoutMs 0', { url, idleTimeoutMs: 0 }, /idleTimeoutMs/],
  ['idleTimeoutMs negative', { url, idleTimeoutMs: -5 }, /idleTimeoutMs/],
  // maxWaiters
  ['maxWaiters -1', { url, maxWaiters: -1 }, /maxWaiters/],
  ['maxWaiters 1.5', { url, maxWaiters: 1.5 }, /maxWaiters/],
  // maxUses
  ['maxUses 0', { url, maxUses: 0 }, /maxUses/],
  ['maxUses -Infinity', { url, maxUses: Number.NEGATIVE_INFINITY }, /maxUses/],
  ['maxUses on an in-memory database (would erase it)', { url: ':memory:', maxUses: 5 }, /maxUses/],
  ['adaptive "yes"', { url, adaptive: 'yes' }, /adaptive/],
  ['maxLifetimeMs 0', { url, maxLifetimeMs: 0 }, /maxLifetimeMs/],
  ['lifetimeJitter 1', { url, lifetimeJitter: 1 }, /lifetimeJitter/],
  ['lifetimeJitter -0.1', { url, lifetimeJitter: -0.1 }, /lifetimeJitter/],
  ['validateAfterIdleMs -1', { url, validateAfterIdleMs: -1 }, /validateAfterIdleMs/],
  ['validateTimeoutMs 0', { url, validateTimeoutMs: 0 }, /validateTimeoutMs/],
  ['leakDetectionMs 0', { url, leakDetectionMs: 0 }, /leakDetectionMs/],
  ['warmStatements -1', { url, warmStatements: -1 }, /warmStatements/],
  ['connectRetryMaxMs below connectRetryMs', { url, connectRetryMs: 500, connectRetryMaxMs: 100 }, /connectRetryMaxMs/],
  ['breakerThreshold 0', { url, breakerThreshold: 0 }, /breakerThreshold/],
  // closeTimeoutMs
  ['closeTimeoutMs -1', { url, closeTimeoutMs: -1 }, /closeTimeoutMs/],
  ['closeTimeoutMs NaN', { url, closeTimeoutMs: Number.NaN }, /closeTimeoutMs/],
  // busyTimeoutMs
  ['busyTimeoutMs -1', { url, busyTimeoutMs: -1 }, /busyTimeoutMs/],
  ['busyTimeoutMs 1.5', { url, busyTimeoutMs: 1.5 }, /busyTimeoutMs/],
  // wal
  ['wal "yes"', { url, wal: 'yes' }, /wal/],
  ['wal 1', { url, wal: 1 }, /wal/],
  // statementCache
  ['statementCache "big"', { url, statementCache: 'big' }, /statementCache/],
  ['statementCache true', { url, statementCache: true }, /statementCache/],
  ['statementCache null', { url, statementCache: null }, /statementCache/],
  ['statementCache { maxSize: -1 }', { url, statementCache: { maxSize: -1 } }, /statementCache\.maxSize/],
  [
    'statementCache { maxPerConnection: 1.5 }',
    { url, statementCache: { maxPerConnection: 1.5 } },
    /statementCache\.maxPerConnection/,
  ],
  ['statementCache { unknown: 1 }', { url, statementCache: { unknown: 1 } }, /statementCache.*unknown/],
  ['statementCache { admission: "never" }', { url, statementCache: { admission: 'never' } }, /statementCache\.admission/],
  // unknown top-level keys: a typo must not be silently ignored
  ['unknown key maxConnections', { url, maxConnections: 5 }, /maxConnections/],
  ['unknown key idleTimeout (typo)', { url, idleTimeout: 1000 }, /idleTimeout\b/],
];

describe('resolveConfig rejects invalid configs', () => {
  test('the table has at least 30 invalid cases', () => {
    expect(invalidCases.length).toBeGreaterThanOrEqual(30);
  });

  test.each(invalidCases)('%s → INVALID_CONFIG naming the field', (_name, config, field) => {
    const resolve = () => resolveConfig(config as PoolConfig);
    expect(resolve).toBePoolError('INVALID_CONFIG');
    expect(resolve).toThrow(field);
  });

  test('a bad url keeps the underlying error as cause', () => {
    let caught: unknown;
    try {
      resolveConfig({ url: 'postgres://x' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PoolError);
    expect((caught as PoolError).cause).toBeInstanceOf(Error);
  });
});

/** The default the field table gives `field`, for a server or a local file. */
function tableDefault(field: Field, server: boolean): unknown {
  if (field.kind === 'duration' && server && field.serverDefault !== undefined) return field.serverDefault;
  return 'default' in field ? field.default : undefined;
}

describe('resolveConfig fills in defaults', () => {
  test.each([
    ['a local file', url, false],
    ['a server', 'ws://127.0.0.1:8080', true],
  ] as const)('every field not given has the default of the field table, for %s', (_name, target, server) => {
    const config = resolveConfig({ url: target });
    for (const [name, field] of Object.entries(FIELDS) as Array<[keyof PoolConfig, Field]>) {
      if (name === 'url') continue;
      expect([name, config[name]]).toEqual([name, tableDefault(field, server)]);
    }
  });

  test('a local file resolves to its path, with no token or key', () => {
    expect(resolveConfig({ url })).toMatchObject({
      url,
      protocol: 'file',
      path: 'app.db',
      memory: false,
      authToken: undefined,
      encryptionKey: undefined,
    });
  });

  test('a server gets a lifetime and idle validation by default; a local file needs neither', () => {
    expect(resolveConfig({ url })).toMatchObject({ maxLifetimeMs: Infinity, validateAfterIdleMs: Infinity });
    expect(resolveConfig({ url: 'ws://127.0.0.1:8080' })).toMatchObject({
      maxLifetimeMs: 1_800_000,
      validateAfterIdleMs: 30_000,
    });
  });

  test('the default statement cache has 1000 entries, 100 per connection, and caches from a second sighting', () => {
    expect(resolveConfig({ url }).statementCache).toEqual({
      maxSize: 1000,
      maxPerConnection: 100,
      admission: 'second-sighting',
    });
  });

  test('the pool builds its statement cache from the resolved bounds, one per pool', async () => {
    const a = new AdaptiveConnectionPool({ url });
    const b = new AdaptiveConnectionPool({ url });
    try {
      expect(a.statementCache).toBeInstanceOf(PreparedStatementCache);
      expect(a.statementCache).toMatchObject({ maxSize: 1000, maxPerConnection: 100, admission: 'second-sighting' });
      expect(a.statementCache).not.toBe(b.statementCache);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test('explicit values are kept', () => {
    const explicit = {
      authToken: 'token',
      encryptionKey: 'key',
      intMode: 'bigint',
      min: 0,
      max: 3,
      acquireTimeoutMs: 250,
      maxWaiters: 0,
      idleTimeoutMs: 1,
      maxUses: 1,
      closeTimeoutMs: 0,
      busyTimeoutMs: 0,
      wal: false,
    } as const;
    expect(resolveConfig({ url, ...explicit })).toMatchObject(explicit);
  });

  test('min equal to max is allowed', () => {
    expect(resolveConfig({ url, min: 4, max: 4 })).toMatchObject({ min: 4, max: 4 });
  });

  test.each(['number', 'bigint', 'string'] as const)('intMode %s is accepted', (intMode) => {
    expect(resolveConfig({ url, intMode }).intMode).toBe(intMode);
  });
});

describe('resolveConfig urls', () => {
  test.each([
    ['ws://127.0.0.1:8080', 'ws', 'ws://127.0.0.1:8080/'],
    ['wss://db.internal:443/', 'ws', 'wss://db.internal/'],
    ['http://127.0.0.1:8080', 'http', 'http://127.0.0.1:8080/'],
    ['https://db.internal', 'http', 'https://db.internal/'],
    ['libsql://127.0.0.1:8080?tls=0', 'ws', 'ws://127.0.0.1:8080/'],
    ['libsql://db.internal', 'ws', 'wss://db.internal/'],
  ])('%s is a %s server at %s', (url, protocol, serverUrl) => {
    expect(resolveConfig({ url })).toMatchObject({ protocol, serverUrl, memory: false, path: '' });
  });

  test('an authToken in the URL is used, as @libsql/client does', () => {
    expect(resolveConfig({ url: 'ws://127.0.0.1:8080?authToken=abc' }).authToken).toBe('abc');
    expect(resolveConfig({ url: 'ws://127.0.0.1:8080', authToken: 'xyz' }).authToken).toBe('xyz');
  });

  test(':memory: forces min = max = 1 and memory = true', () => {
    const config = resolveConfig({ url: ':memory:', min: 3, max: 8 });
    expect(config).toMatchObject({ memory: true, min: 1, max: 1, protocol: 'file' });
    expect(config.path).toMatch(/:memory:/);
  });

  test('file::memory: forces min = max = 1 and memory = true', () => {
    const config = resolveConfig({ url: 'file::memory:', max: 8 });
    expect(config).toMatchObject({ memory: true, min: 1, max: 1 });
    expect(config.path).toMatch(/:memory:/);
  });

  test('file:relative.db resolves to the relative path', () => {
    expect(resolveConfig({ url: 'file:relative.db' })).toMatchObject({ path: 'relative.db', memory: false });
  });

  test('file:///abs/x.db resolves to the absolute path', () => {
    expect(resolveConfig({ url: 'file:///abs/x.db' })).toMatchObject({ path: '/abs/x.db', memory: false });
  });

  test('file://localhost/abs/x.db is the same absolute path', () => {
    expect(resolveConfig({ url: 'file://localhost/abs/x.db' }).path).toBe('/abs/x.db');
  });

  test('the url is kept as given', () => {
    expect(resolveConfig({ url: 'file:///abs/x.db' }).url).toBe('file:///abs/x.db');
  });
});

describe('resolveConfig unbounded values and the statement cache', () => {
  test.each(['acquireTimeoutMs', 'idleTimeoutMs', 'maxWaiters', 'maxUses'] as const)(
    '%s accepts Infinity',
    (key) => {
      expect(resolveConfig({ url, [key]: Number.POSITIVE_INFINITY })[key]).toBe(Number.POSITIVE_INFINITY);
    },
  );

  test('statementCache false disables the cache', () => {
    expect(resolveConfig({ url, statementCache: false }).statementCache).toBe(false);
  });

  test('statementCache bounds are kept as plain data', () => {
    const { statementCache } = resolveConfig({ url, statementCache: { maxSize: 20, maxPerConnection: 5 } });
    expect(statementCache).toEqual({ maxSize: 20, maxPerConnection: 5, admission: 'second-sighting' });
    expect(Object.isFrozen(statementCache)).toBe(true);
  });

  test("statementCache.admission 'always' is kept, and the pool's cache follows it", async () => {
    const config = { url, statementCache: { admission: 'always' as const } };
    expect(resolveConfig(config).statementCache).toMatchObject({ admission: 'always' });
    const pool = new AdaptiveConnectionPool(config);
    try {
      expect(pool.statementCache).toMatchObject({ admission: 'always' });
    } finally {
      await pool.close();
    }
  });

  test('a small maxSize bounds the per-connection default too, as the cache does', () => {
    expect(resolveConfig({ url, statementCache: { maxSize: 20 } }).statementCache).toEqual({
      maxSize: 20,
      maxPerConnection: new PreparedStatementCache({ maxSize: 20 }).maxPerConnection,
      admission: 'second-sighting',
    });
  });

  test('a shared PreparedStatementCache instance is kept by identity', () => {
    const shared = new PreparedStatementCache(50);
    expect(resolveConfig({ url, statementCache: shared }).statementCache).toBe(shared);
    expect(resolveConfig({ url: 'file:other.db', statementCache: shared }).statementCache).toBe(shared);
  });

  test('the result is frozen', () => {
    const config = resolveConfig({ url });
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { max: number }).max = 99;
    }).toThrow(TypeError);
    expect(config.max).toBe(10);
  });

  test('the input config is not modified', () => {
    const input: PoolConfig = { url: ':memory:', max: 4 };
    resolveConfig(input);
    expect(input).toEqual({ url: ':memory:', max: 4 });
  });
});
