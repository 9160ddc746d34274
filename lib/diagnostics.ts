import * as diagnosticsChannel from 'node:diagnostics_channel';
import type { ResultSet } from '@libsql/client';
import type { CheckinEvent, CheckoutEvent, CloseEvent, ConnectionId, ConnectionInfo, PoolEvents } from './events';

// `node:diagnostics_channel` lets APMs and tracers observe every pool in the
// process without a reference to any of them. Channels are looked up by name
// in one process-wide registry, so the CommonJS and ESM builds of this package
// (or two copies of it) publish on the same channels. Publishing costs nothing
// while nobody subscribes: the pool checks `hasSubscribers` first.

/** Name of the channel that carries each `create` event's payload (`ConnectionInfo`). */
export const CREATE_CHANNEL = 'libsql-pool:create';
/** Name of the channel that carries each `checkout` event's payload (`CheckoutEvent`). */
export const CHECKOUT_CHANNEL = 'libsql-pool:checkout';
/** Name of the channel that carries each `checkin` event's payload (`CheckinEvent`). */
export const CHECKIN_CHANNEL = 'libsql-pool:checkin';
/** Name of the channel that carries each `close` event's payload (`CloseEvent`). */
export const CLOSE_CHANNEL = 'libsql-pool:close';
/**
 * Name of the tracing channel around each statement a lease runs. Its five
 * channels are `tracing:libsql-pool:query:start`, `:end`, `:asyncStart`,
 * `:asyncEnd` and `:error`, each carrying one `QueryContext` per statement.
 */
export const QUERY_CHANNEL = 'libsql-pool:query';

/** Published on `create`: a physical connection is open. Same payload as the pool's `create` event. */
export const createChannel: diagnosticsChannel.Channel = diagnosticsChannel.channel(CREATE_CHANNEL);
/** Published on `checkout`: a lease was handed out. Same payload as the pool's `checkout` event. */
export const checkoutChannel: diagnosticsChannel.Channel = diagnosticsChannel.channel(CHECKOUT_CHANNEL);
/** Published on `checkin`: a lease came back. Same payload as the pool's `checkin` event. */
export const checkinChannel: diagnosticsChannel.Channel = diagnosticsChannel.channel(CHECKIN_CHANNEL);
/** Published on `close`: a physical connection was retired. Same payload as the pool's `close` event. */
export const closeChannel: diagnosticsChannel.Channel = diagnosticsChannel.channel(CLOSE_CHANNEL);

/**
 * What the query tracing channel publishes for one statement. The same object
 * goes through `start`, `end`, then `asyncStart`/`asyncEnd` when the statement
 * settles (with `result` or `error` filled in), and `error` if it failed, so a
 * subscriber can keep per-statement state on it (a span, a start time).
 */
export interface QueryContext {
  /** The SQL text, or the script for `executeMultiple`. */
  readonly sql: string;
  /** The connection the statement ran on. */
  readonly connectionId: ConnectionId;
  /** Set before `asyncStart` when the statement succeeded (`undefined` for `executeMultiple`). */
  result?: ResultSet | undefined;
  /** Set before `error` when the statement failed. */
  error?: unknown;
}

/** The tracing channel around each statement; see `QUERY_CHANNEL`. */
export const queryChannel: diagnosticsChannel.TracingChannel<unknown, QueryContext> =
  diagnosticsChannel.tracingChannel<unknown, QueryContext>(QUERY_CHANNEL);

/** Payload types of the lifecycle channels, by event. */
export interface PoolChannelMessages {
  /** On `libsql-pool:create`. */
  create: ConnectionInfo;
  /** On `libsql-pool:checkout`. */
  checkout: CheckoutEvent;
  /** On `libsql-pool:checkin`. */
  checkin: CheckinEvent;
  /** On `libsql-pool:close`. */
  close: CloseEvent;
}

/** The lifecycle channel for each pool event that has one. @internal */
export const poolEventChannels: { readonly [E in keyof PoolEvents]?: diagnosticsChannel.Channel } = Object.freeze({
  create: createChannel,
  checkout: checkoutChannel,
  checkin: checkinChannel,
  close: closeChannel,
});
