/**
 * A private `redis-server` for tests that stop, kill or restart Redis: its own free port and data
 * folder, with `appendonly yes`, so it can be stopped and started again without touching the
 * machine's shared Redis (which the other tests use and which has no persistence).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@genqueue/embedded';
import { Redis } from 'ioredis';

/** A restartable Redis with AOF persistence. */
export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  /** Stops the server gracefully (SIGTERM: Redis flushes the AOF and exits). */
  stop(): Promise<void>;
  /** Kills the server (SIGKILL): with `appendfsync everysec` up to the last second of writes is lost. */
  kill(): Promise<void>;
  /** Stops the process with SIGSTOP: connections stay open and nothing answers, as in a partition. */
  pause(): void;
  /** Lets a paused process go on (SIGCONT). */
  resume(): void;
  /** Starts it again on the same port and data folder. */
  start(): Promise<void>;
  /**
   * Copies the AOF as it is on disk now. {@link restoreSnapshot} after a kill puts it back: the
   * server then comes back as a machine that lost power at the snapshot would (its last writes
   * gone, an AOF prefix kept). A SIGKILL of the process alone loses nothing even with
   * `appendfsync everysec`: Redis writes the AOF before it answers, and the kernel keeps it.
   */
  snapshot(): Promise<void>;
  /** Replaces the AOF by the last {@link snapshot}; call it while the server is stopped. */
  restoreSnapshot(): Promise<void>;
  /** Stops it for good and deletes the data folder. */
  destroy(): Promise<void>;
}

/** Options of {@link startPrivateRedis}. */
export interface PrivateRedisOptions {
  /** Redis's `appendfsync`: `always` loses nothing on a kill, `everysec` (docker-compose's) up to a second. Default `always`. */
  appendfsync?: 'always' | 'everysec';
}

/** Starts a private `redis-server --appendonly yes` and resolves once it answers PING. */
export async function startPrivateRedis(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'genqueue-chaos-redis-'));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  const start = async () => {
    child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--appendonly',
        'yes',
        '--appendfsync',
        options.appendfsync ?? 'always',
      ],
      { cwd: dir, stdio: 'ignore' },
    );
    // --dir is the cwd: Redis refuses some paths on the command line, never its working folder.
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined); // refused until the server listens: `connect()` rejects too
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
  const stopWith = async (signal: NodeJS.Signals) => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    running.kill(signal);
    await once(running, 'exit');
  };
  const stop = () => stopWith('SIGTERM');
  await start();
  return {
    port,
    url,
    stop,
    kill: () => stopWith('SIGKILL'),
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    async snapshot() {
      await rm(join(dir, 'snapshot'), { recursive: true, force: true });
      await cp(join(dir, 'appendonlydir'), join(dir, 'snapshot'), { recursive: true });
    },
    async restoreSnapshot() {
      await rm(join(dir, 'appendonlydir'), { recursive: true, force: true });
      await cp(join(dir, 'snapshot'), join(dir, 'appendonlydir'), { recursive: true });
    },
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
