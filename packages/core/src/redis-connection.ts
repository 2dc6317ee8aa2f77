/**
 * The one way a genqueue process connects to Redis: one server, Sentinel or Redis Cluster, as the
 * configuration says (`REDIS_URL`, `REDIS_SENTINELS` + `REDIS_SENTINEL_NAME`, `REDIS_CLUSTER_NODES`),
 * with the same credentials and TLS options in each. The API, the workers, the metrics, the demo
 * and the benchmark all connect through `createRedis`; BullMQ duplicates the connection it is given
 * for its blocking commands, so it follows the same mode.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';

/** How every process reaches Redis: one server, Sentinel, or Redis Cluster. See `createRedis`. */
export type RedisSettings = RedisSingleSettings | RedisSentinelSettings | RedisClusterSettings;

interface RedisCommonSettings {
  username?: string;
  password?: string;
  /** TLS to the data nodes (and Sentinels). */
  tls: boolean;
  /** CA certificate file for TLS; absent: the system's CAs. */
  tlsCaFile?: string;
}
export interface RedisSingleSettings extends RedisCommonSettings {
  mode: 'single';
  url: string;
}
export interface RedisSentinelSettings extends RedisCommonSettings {
  mode: 'sentinel';
  sentinels: { host: string; port: number }[];
  /** The master name the Sentinels watch (`REDIS_SENTINEL_NAME`). */
  name: string;
  sentinelUsername?: string;
  sentinelPassword?: string;
}
export interface RedisClusterSettings extends RedisCommonSettings {
  mode: 'cluster';
  /** Seed nodes; the rest of the cluster is discovered from them. */
  nodes: { host: string; port: number }[];
}

/** A connection in any of the three modes; both classes take the same commands and scripts. */
export type RedisClient = Redis | Cluster;

/** Options of {@link createRedis}. */
export interface CreateRedisOptions {
  /** Connect on the first command instead of at once. Default false. */
  lazyConnect?: boolean;
  /**
   * Retries of a command while the connection is down. Default `null` (wait for Redis for ever),
   * which BullMQ requires of the connections its workers use.
   */
  maxRetriesPerRequest?: number | null;
  /** Connection timeout in ms. Default ioredis's 10 000. */
  connectTimeout?: number;
  /** Stops reconnecting when it returns null (probes). Default: ioredis's back-off. */
  retryStrategy?: (times: number) => number | null;
  /** `CLIENT SETNAME`, shown in `CLIENT LIST`. */
  connectionName?: string;
  /**
   * ioredis's `commandTimeout`: a command with no answer after this many ms fails with `Command
   * timed out` (the reply, if it comes later, is still matched to it). Default: none.
   */
  commandTimeout?: number;
}

/**
 * How long a Cluster command waits out a failover, in ms (`CLUSTERDOWN`, `TRYAGAIN`, a master that
 * stopped answering) before it fails: ioredis retries it every `retryDelayOnClusterDown` ms, at
 * most `maxRedirections` times. Redis promotes a replica after `cluster-node-timeout` (15 s by
 * default) plus an election, so the product is kept above that.
 */
const CLUSTER_RETRY_DELAY_MS = 500;
const CLUSTER_MAX_REDIRECTIONS = 64;

/** Connects to Redis as `settings` say. Close it with `quit()` (or `disconnect()`). */
export function createRedis(settings: RedisSettings, options: CreateRedisOptions = {}): RedisClient {
  const tls = tlsOptions(settings);
  const node: RedisOptions = {
    lazyConnect: options.lazyConnect ?? false,
    maxRetriesPerRequest: options.maxRetriesPerRequest === undefined ? null : options.maxRetriesPerRequest,
    ...(options.connectTimeout === undefined ? {} : { connectTimeout: options.connectTimeout }),
    ...(options.retryStrategy ? { retryStrategy: options.retryStrategy } : {}),
    ...(options.connectionName ? { connectionName: options.connectionName } : {}),
    ...(options.commandTimeout === undefined ? {} : { commandTimeout: options.commandTimeout }),
    ...(settings.username ? { username: settings.username } : {}),
    ...(settings.password ? { password: settings.password } : {}),
    ...(tls ? { tls } : {}),
  };
  switch (settings.mode) {
    case 'single':
      // ioredis lets the URL's credentials win over the options; REDIS_USERNAME/PASSWORD win here.
      return new Redis(withCredentials(settings.url, settings.username, settings.password), node);
    case 'sentinel':
      return new Redis({
        ...node,
        sentinels: settings.sentinels,
        name: settings.name,
        ...(settings.sentinelUsername ? { sentinelUsername: settings.sentinelUsername } : {}),
        ...(settings.sentinelPassword ? { sentinelPassword: settings.sentinelPassword } : {}),
        ...(tls ? { enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
        // Subscribe to the Sentinels' +switch-master, so a failover is followed at once rather
        // than when the old master's connection finally breaks.
        failoverDetector: true,
        // A demoted master answers writes with READONLY until the connection moves: reconnect
        // (Sentinel names the new master) and resend the command.
        reconnectOnError: (error) => (error.message.startsWith('READONLY') ? 2 : false),
        ...(options.retryStrategy ? { sentinelRetryStrategy: options.retryStrategy } : {}),
      });
    case 'cluster': {
      const clusterOptions: ClusterOptions = {
        redisOptions: node,
        lazyConnect: node.lazyConnect,
        retryDelayOnClusterDown: CLUSTER_RETRY_DELAY_MS,
        retryDelayOnFailover: CLUSTER_RETRY_DELAY_MS,
        retryDelayOnTryAgain: CLUSTER_RETRY_DELAY_MS,
        maxRedirections: CLUSTER_MAX_REDIRECTIONS,
        // TLS certificates name hosts, not the addresses CLUSTER SLOTS reports: keep the seed's name.
        ...(tls ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
        ...(options.retryStrategy ? { clusterRetryStrategy: options.retryStrategy } : {}),
      };
      return new Cluster(settings.nodes, clusterOptions);
    }
  }
}

function withCredentials(url: string, username?: string, password?: string): string {
  if (!username && !password) return url;
  const parsed = new URL(url);
  if (username) parsed.username = encodeURIComponent(username);
  if (password) parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

function tlsOptions(settings: RedisSettings): TlsOptions | undefined {
  if (!settings.tls) return undefined;
  return settings.tlsCaFile ? { ca: readFileSync(settings.tlsCaFile) } : {};
}
