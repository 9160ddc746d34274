// The pool
export { AdaptiveConnectionPool } from './pool/pool';
export { createPool } from './pool/create-pool';
export type { AcquireOptions } from './pool/admission';
export type { CloseOptions } from './pool/closing';
export { PooledConnection } from './pool/pooled-connection';
export type { BatchStatement, ExecuteStatement, ResultFor, RowModeStatement } from './pool/pooled-connection';
export type { ArrayResultSet, ObjectResultSet, ResultIn, RowMode } from './drivers/row-mode';
export type { RowModeOf } from './pool/create-pool';
export { resolveConfig } from './config';
export type { PoolConfig, ResolvedConfig, StatementCacheBounds, StatementCacheSetting } from './config';
export { readUrl } from './url';
export type { FileTarget, MemoryTarget, ServerTarget, Target, UrlOptions } from './url';
export type { PoolStats, PoolTotals, WaitPercentiles } from './stats';
export type { AfterConnectHook, AfterReleaseHook, SessionConnection } from './session';
export type { ConnectionResource, ResourceHost, ResourceOptions } from './pool/resources';

// Events
export type {
  CheckinEvent,
  CheckoutEvent,
  CloseEvent,
  CloseReason,
  ConnectErrorEvent,
  ConnectionCleanupCallback,
  ConnectionId,
  ConnectionInfo,
  LeakEvent,
  ListenerErrorEvent,
  PoolEvents,
} from './events';
export type { MaxChangeEvent, MaxChangeReason, ResizeEvent, ResizeReason } from './events';
export type { BreakerState, LeakReport, LeakState } from './events';

// Statement cache
export { PreparedStatementCache } from './statement-cache';
export type { AdmissionPolicy, CacheEntry, EvictionReason, StatementCacheOptions } from './statement-cache';
export type { CacheStats } from './stats';
export { StatementCacheSubscriber } from './statement-cache-subscriber';
export type { ClearableCache } from './statement-cache-subscriber';

// Errors, and the @libsql/client types results and statements use
export { PoolError, isPoolError } from './errors';
export type { PoolErrorCode } from './errors';
export { LibsqlError, LibsqlBatchError } from '@libsql/core/api';
export type { InArgs, InStatement, InValue, IntMode, ResultSet, Row, TransactionMode, Value } from '@libsql/client';

// Drop-in @libsql/client
export { PooledClient, PooledTransaction, createPooledClient } from './pooled-client';

// Telemetry
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

// Drivers
export { createDriver } from './drivers/create-driver';
export type { DriverOptions } from './drivers/create-driver';
export { DelegatingDriver } from './drivers/delegating';
export { NativeDriver } from './drivers/native';
export type { NativeDriverOptions } from './drivers/native';
export { RemoteDriver } from './drivers/remote';
export type { RemoteDriverOptions } from './drivers/remote';
export type { Driver, DriverBatchStep, DriverConnection, DriverStatement, Replicated } from './drivers/driver';
