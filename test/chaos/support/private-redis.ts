/**
 * A private `redis-server` for the Redis-restart scenario: its own free port and data folder, with
 * `appendonly yes`, so it can be stopped and started again without touching the machine's shared
 * Redis (which the other tests use and which has no persistence).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@genqueue/demo';
import { Redis } from 'ioredis';

/** A free TCP port on 127.0.0.1 (asked of the OS, then released). */

/** A restartable Redis with AOF persistence. */
export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  /** Stops the server gracefully (SIGTERM: Redis flushes the AOF and exits). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data folder. */
  start(): Promise<void>;
  /** Stops it for good and deletes the data folder. */
  destroy(): Promise<void>;
}

/** Starts a private `redis-server --appendonly yes` and resolves once it answers PING. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'genqueue-chaos-redis-'));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  const start = async () => {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--appendonly', 'yes', '--appendfsync', 'always'],
      { cwd: dir, stdio: 'ignore' },
    );
    // --dir is the cwd: Redis refuses some paths on the command line, never its working folder.
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        await probe.connect();
        if ((await probe.ping()) === 'PONG') break;
      } catch {
        probe.disconnect();
      }
      if (Date.now() > deadline) throw new Error(`private redis on ${port} did not start`);
      await new Promise((r) => setTimeout(r, 100));
    }
    probe.disconnect();
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    running.kill('SIGTERM');
    await once(running, 'exit');
  };
  await start();
  return {
    port,
    url,
    stop,
    start,
    async destroy() {
      if (child) {
        child.kill('SIGKILL');
        await once(child, 'exit').catch(() => undefined);
        child = undefined;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
