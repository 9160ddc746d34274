import type { ResolvedConfig } from '../config';
import type { Driver } from './driver';
import { NativeDriver } from './native';
import { RemoteDriver } from './remote';

/** The driver that serves `config.url`: `libsql` for local files, Hrana for a server. */
export function createDriver(config: ResolvedConfig): Driver {
  if (config.protocol !== 'file') {
    return new RemoteDriver({
      url: new URL(config.serverUrl!),
      protocol: config.protocol,
      authToken: config.authToken,
      intMode: config.intMode,
    });
  }
  return new NativeDriver({
    path: config.path,
    memory: config.memory,
    intMode: config.intMode,
    busyTimeoutMs: config.busyTimeoutMs,
    wal: config.wal,
    authToken: config.authToken,
    encryptionKey: config.encryptionKey,
    syncUrl: config.syncUrl,
    syncInterval: config.syncInterval,
  });
}
