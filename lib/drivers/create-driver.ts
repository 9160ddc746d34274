import type { ResolvedConfig } from '../config';
import type { Driver } from './driver';
import { NativeDriver } from './native';

/** The driver that serves `config.url`. */
export function createDriver(config: ResolvedConfig): Driver {
  return new NativeDriver({
    path: config.path,
    memory: config.memory,
    intMode: config.intMode,
    busyTimeoutMs: config.busyTimeoutMs,
    wal: config.wal,
    authToken: config.authToken,
    encryptionKey: config.encryptionKey,
  });
}
