/**
 * Whether a Redis connection can take a command right now, read from ioredis's own `status` at the
 * moment of the question (never from a flag set by an event, which a missed `ready` would leave
 * stale), and one log line when it goes down and one when it is back, however many reconnect
 * attempts fail in between.
 */
import type { Logger } from '@genqueue/model';
import type { RedisClient } from './redis-connection.ts';

/** Options of {@link watchConnection}. */
export interface ConnectionWatchOptions {
  logger: Logger;
  /** What the log lines call the connection. Default `redis`. */
  name?: string;
}

/** See {@link watchConnection}. */
export interface ConnectionWatch {
  /**
   * True while the connection is `ready`, and before its first connect has failed (a command sent
   * then waits the few milliseconds until it is). False while it reconnects, loads its data
   * (`LOADING`) or after it closed.
   */
  up(): boolean;
  /** Removes the listeners. */
  stop(): void;
}

/** Watches `redis`; see {@link ConnectionWatch}. Also its `error` listener, so ioredis never prints "Unhandled error event". */
export function watchConnection(redis: RedisClient, options: ConnectionWatchOptions): ConnectionWatch {
  const name = options.name ?? 'redis';
  // Set by the first trouble, never cleared: from then on only `status === 'ready'` means up.
  let troubled = false;
  let saidDown = false;
  const onTrouble = (error?: Error) => {
    troubled = true;
    if (saidDown) return;
    saidDown = true;
    options.logger.error(
      { err: error?.message, status: redis.status },
      `${name}: unreachable; calls that need it answer 503 until it is back`,
    );
  };
  const onError = (error: Error) => onTrouble(error);
  const onClose = () => onTrouble();
  const onReady = () => {
    if (!saidDown) return;
    saidDown = false;
    options.logger.info(`${name}: reachable again`);
  };
  redis.on('error', onError);
  redis.on('close', onClose);
  redis.on('ready', onReady);
  return {
    up() {
      const status = redis.status;
      if (status === 'ready') return true;
      return !troubled && (status === 'wait' || status === 'connecting' || status === 'connect');
    },
    stop() {
      redis.off('error', onError);
      redis.off('close', onClose);
      redis.off('ready', onReady);
    },
  };
}
