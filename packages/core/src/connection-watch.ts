/**
 * Whether a Redis connection can take a command right now, read from ioredis's own `status` at the
 * moment of the question (never from a flag set by an event, which a missed `ready` would leave
 * stale), and one log line when it goes down and one when it is back, however many reconnect
 * attempts fail in between.
 *
 * A server that stops answering without closing the connection (a stopped process, a network
 * partition) leaves ioredis `ready` for as long as TCP holds, so `status` alone never sees it: with
 * `probe`, a PING on the same connection that gets no answer within the deadline marks it down
 * too, and the answer, when it comes, marks it up again.
 */
import type { Logger } from '@genqueue/model';
import type { RedisClient } from './redis-connection.ts';

/** Options of {@link watchConnection}. */
export interface ConnectionWatchOptions {
  logger: Logger;
  /** What the log lines call the connection. Default `redis`. */
  name?: string;
  /**
   * A PING every `intervalMs` while the connection is `ready` (one at a time); none answered within
   * `timeoutMs` counts as down until one is. Default: no probe.
   */
  probe?: { intervalMs: number; timeoutMs: number };
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
  // Set while the connection is open but the last PING went unanswered past the deadline.
  let hung = false;
  const onTrouble = (error?: string) => {
    troubled = true;
    if (saidDown) return;
    saidDown = true;
    options.logger.error(
      { err: error, status: redis.status },
      `${name}: unreachable; calls that need it answer 503 until it is back`,
    );
  };
  const onBack = () => {
    hung = false;
    if (!saidDown) return;
    saidDown = false;
    options.logger.info(`${name}: reachable again`);
  };
  const onError = (error: Error) => onTrouble(error.message);
  const onClose = () => onTrouble();
  redis.on('error', onError);
  redis.on('close', onClose);
  redis.on('ready', onBack);

  const probe = options.probe;
  let probing = false;
  let deadline: NodeJS.Timeout | undefined;
  const noAnswer = (why: string) => {
    hung = true;
    onTrouble(why);
  };
  const probeTimer =
    probe &&
    setInterval(() => {
      if (probing || redis.status !== 'ready') return;
      probing = true;
      deadline = setTimeout(
        () => noAnswer(`no answer to PING within ${probe.timeoutMs} ms`),
        probe.timeoutMs,
      );
      deadline.unref();
      redis.ping().then(
        () => {
          clearTimeout(deadline);
          probing = false;
          if (hung) onBack();
        },
        (error: Error) => {
          clearTimeout(deadline);
          probing = false;
          // A broken connection says so through its events; a PING past `commandTimeout` is an
          // unanswered one.
          if (error.message === 'Command timed out') noAnswer(error.message);
        },
      );
    }, probe.intervalMs);
  probeTimer?.unref();

  return {
    up() {
      if (hung) return false;
      const status = redis.status;
      if (status === 'ready') return true;
      return !troubled && (status === 'wait' || status === 'connecting' || status === 'connect');
    },
    stop() {
      redis.off('error', onError);
      redis.off('close', onClose);
      redis.off('ready', onBack);
      clearInterval(probeTimer);
      clearTimeout(deadline);
    },
  };
}
