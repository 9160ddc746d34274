export { AdaptiveConnectionPool, createPool } from './pool';
export type { AcquireOptions, CloseOptions } from './pool';
export { PooledConnection } from './pooled-connection';
export type { BatchStatement } from './pooled-connection';
export { PreparedStatementCache } from './statement-cache';
export type { CacheEntry, CacheStats, EvictionReason, StatementCacheOptions } from './statement-cache';
export { StatementCacheSubscriber } from './statement-cache-subscriber';
export { PoolError, isPoolError } from './errors';
export type { PoolErrorCode } from './errors';
export type { PoolConfig, ResolvedConfig } from './config';
export type {
  CheckinEvent,
  CheckoutEvent,
  CloseEvent,
  CloseReason,
  ConnectionCleanupCallback,
  ConnectionId,
  ConnectionInfo,
  ConnectErrorEvent,
  LeakEvent,
  ListenerErrorEvent,
  PoolEvents,
} from './events';
export type { ResizeEvent, ResizeReason } from './size-controller';
export type { BreakerState } from './connect-backoff';
export type { LeakReport, LeakState } from './leak-detector';
export type { PoolStats, PoolTotals, WaitPercentiles } from './stats';
export { LibsqlError, LibsqlBatchError } from '@libsql/core/api';
export type { InArgs, InStatement, InValue, IntMode, ResultSet, Row, TransactionMode, Value } from '@libsql/client';
export { NativeDriver } from './drivers/native';
export { createDriver } from './drivers/create-driver';
export { resolveConfig } from './config';
export type { NativeDriverOptions } from './drivers/native';
export type { Driver, DriverConnection, DriverStatement } from './drivers/driver';
export type { Replicated } from './drivers/driver';
export { RemoteDriver } from './drivers/remote';
export type { RemoteDriverOptions } from './drivers/remote';
export { PooledClient, PooledTransaction, createPooledClient } from './pooled-client';
export {
  CHECKIN_CHANNEL,
  CHECKOUT_CHANNEL,
  CLOSE_CHANNEL,
  CREATE_CHANNEL,
  QUERY_CHANNEL,
  checkinChannel,
  checkoutChannel,
  closeChannel,
  createChannel,
  queryChannel,
} from './diagnostics';
export type { PoolChannelMessages, QueryContext } from './diagnostics';
export type { ClearableCache } from './statement-cache-subscriber';
