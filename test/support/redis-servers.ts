/**
 * Private Redis deployments for the tests where the topology is the point: a Redis Cluster of real
 * `redis-server --cluster-enabled yes` nodes made with `redis-cli --cluster create`, and a
 * Sentinel set-up (a master, a replica, three Sentinels). Every server listens on a free loopback
 * port, keeps its files in a temporary folder, and is killed by `stop()`, or when this process
 * exits however it exits, so a failed test leaves no server behind.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '@genqueue/embedded';
import { Redis } from 'ioredis';

const run = promisify(execFile);

/** Every server still running, killed when this process exits. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGTERM');
});

/**
 * `sh -c WATCHDOG watchdog <parent pid> <command…>`: runs the command, and SIGKILLs it when the
 * parent is gone, when the command exits, or when the shell is told to stop (SIGTERM); the shell
 * waits for the server to be gone, so its port is free once the shell has exited.
 */
const WATCHDOG = `parent=$1; shift; "$@" & server=$!
stop() { kill -9 $server 2>/dev/null; wait $server 2>/dev/null; exit 0; }
trap stop TERM INT
while kill -0 $parent 2>/dev/null && kill -0 $server 2>/dev/null; do sleep 0.2 & wait $!; done
stop`;

/** One `redis-server` child on a fixed port and folder, which can be killed and started again. */
export class RedisServer {
  private child: ChildProcess | undefined;

  constructor(
    readonly port: number,
    readonly dir: string,
    private readonly args: string[],
    /** `requirepass`, when the server has one. */
    readonly password?: string,
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get alive(): boolean {
    return this.child !== undefined;
  }

  /** Starts the server and resolves once it answers PING. */
  async start(): Promise<void> {
    // Through a watchdog shell: the server is SIGKILLed when this process is gone, even if this
    // process was itself SIGKILLed (no exit handler runs then), or when the shell gets SIGTERM.
    const child = spawn('sh', ['-c', WATCHDOG, 'watchdog', String(process.pid), ...this.args], {
      cwd: this.dir,
      stdio: 'ignore',
    });
    running.add(child);
    child.once('exit', () => running.delete(child));
    this.child = child;
    await waitUntil(async () => (await this.command('PING')) === 'PONG', 15_000, `redis on ${this.port}`);
  }

  /** SIGKILL: the server dies at once, as a crashed machine would (the watchdog sends it). */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await once(child, 'exit');
  }

  /** One command on a short-lived connection; undefined when the server does not answer. */
  async command(...args: string[]): Promise<string | undefined> {
    const redis = new Redis(this.port, '127.0.0.1', {
      lazyConnect: true,
      ...(this.password ? { password: this.password } : {}),
      maxRetriesPerRequest: 0,
      connectTimeout: 1_000,
      retryStrategy: () => null,
    });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      return String(await redis.call(args[0]!, ...args.slice(1)));
    } catch {
      return undefined;
    } finally {
      redis.disconnect();
    }
  }
}

async function newServer(
  kind: 'redis-server' | 'sentinel',
  extra: (port: number) => Promise<string[]>,
  password?: string,
) {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), `genqueue-${kind}-`));
  const args =
    kind === 'sentinel'
      ? ['redis-server', join(dir, 'sentinel.conf'), '--sentinel']
      : ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  args.push(...(await extra(port)));
  if (password) args.push('--requirepass', password, '--masterauth', password);
  return new RedisServer(port, dir, args, password);
}

/** A running Redis Cluster. */
export interface RedisClusterHandle {
  /** `host:port,…` of every node, for `REDIS_CLUSTER_NODES`. */
  readonly seeds: string;
  readonly nodes: RedisServer[];
  /** The node that is master of the slot of `key` now. */
  masterOf(key: string): Promise<RedisServer>;
  /** Resolves once every live node sees the cluster as `ok` with every slot served. */
  healthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts `masters` cluster nodes plus `replicas` per master, and joins them with
 * `redis-cli --cluster create`. `nodeTimeoutMs` is `cluster-node-timeout`: how long a master may be
 * unreachable before its replica takes over.
 */
export async function startRedisCluster(
  options: { masters?: number; replicas?: number; nodeTimeoutMs?: number; password?: string } = {},
): Promise<RedisClusterHandle> {
  const count = (options.masters ?? 3) * (1 + (options.replicas ?? 0));
  const nodes: RedisServer[] = [];
  const handle: RedisClusterHandle = {
    get seeds() {
      return nodes.map((n) => n.address).join(',');
    },
    nodes,
    async masterOf(key) {
      const slot = Number(await firstLive(nodes).command('CLUSTER', 'KEYSLOT', key));
      for (const node of nodes) {
        if (!node.alive) continue;
        const info = await node.command('ROLE');
        if (!info?.startsWith('master')) continue;
        const slots = await clusterSlotsOf(node);
        if (slots.some(([from, to]) => slot >= from && slot <= to)) return node;
      }
      throw new Error(`no live master serves slot ${slot}`);
    },
    async healthy(timeoutMs = 30_000) {
      await waitUntil(
        async () => {
          for (const node of nodes) {
            if (!node.alive) continue;
            const info = await node.command('CLUSTER', 'INFO');
            if (!info?.includes('cluster_state:ok') || !info.includes('cluster_slots_ok:16384')) return false;
          }
          return true;
        },
        timeoutMs,
        'the cluster to be ok',
      );
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.kill()));
      await Promise.all(nodes.map((n) => rm(n.dir, { recursive: true, force: true })));
    },
  };
  try {
    for (let i = 0; i < count; i++) {
      nodes.push(
        await newServer(
          'redis-server',
          async () => [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            String(options.nodeTimeoutMs ?? 1_000),
            // The bus port defaults to port + 10000, which may be taken: ask for a free one.
            '--cluster-port',
            String(await freePort()),
          ],
          options.password,
        ),
      );
    }
    await Promise.all(nodes.map((n) => n.start()));
    await run('redis-cli', [
      ...(options.password ? ['-a', options.password, '--no-auth-warning'] : []),
      '--cluster',
      'create',
      ...nodes.map((n) => n.address),
      '--cluster-replicas',
      String(options.replicas ?? 0),
      '--cluster-yes',
    ]);
    await handle.healthy();
    if (options.replicas) {
      // Every replica attached and in sync, so a failover has someone to promote.
      await waitUntil(
        async () => {
          for (const node of nodes) {
            const role = await node.command('ROLE');
            if (
              role?.startsWith('slave') &&
              !(await node.command('INFO', 'replication'))?.includes('master_link_status:up')
            )
              return false;
          }
          return true;
        },
        30_000,
        'the replicas to sync',
      );
    }
    return handle;
  } catch (error) {
    await handle.stop();
    throw error;
  }
}

async function clusterSlotsOf(node: RedisServer): Promise<[number, number][]> {
  const redis = new Redis(node.port, '127.0.0.1', {
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    ...(node.password ? { password: node.password } : {}),
  });
  redis.on('error', () => undefined);
  try {
    const myself = ((await redis.call('CLUSTER', 'MYID')) as string).trim();
    const slots = (await redis.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
    return slots.filter((entry) => entry[2]?.[2] === myself).map(([from, to]) => [from, to]);
  } finally {
    redis.disconnect();
  }
}

/** A running Sentinel set-up. */
export interface SentinelHandle {
  /** `host:port,…` of the Sentinels, for `REDIS_SENTINELS`. */
  readonly sentinels: string;
  /** The master name, for `REDIS_SENTINEL_NAME`. */
  readonly name: string;
  readonly master: RedisServer;
  readonly replica: RedisServer;
  /** The address the Sentinels name as master now. */
  currentMaster(): Promise<string | undefined>;
  stop(): Promise<void>;
}

/**
 * A master, one replica, and three Sentinels (quorum 2) watching them. The master is judged down
 * after `downAfterMs` without an answer, and the replica promoted.
 */
export async function startSentinel(options: { downAfterMs?: number } = {}): Promise<SentinelHandle> {
  const name = 'genqueue';
  const servers: RedisServer[] = [];
  const stop = async () => {
    await Promise.all(servers.map((s) => s.kill()));
    await Promise.all(servers.map((s) => rm(s.dir, { recursive: true, force: true })));
  };
  try {
    const master = await newServer('redis-server', async () => []);
    servers.push(master);
    await master.start();
    const replica = await newServer('redis-server', async () => [
      '--replicaof',
      '127.0.0.1',
      String(master.port),
    ]);
    servers.push(replica);
    await replica.start();
    const sentinels: RedisServer[] = [];
    for (let i = 0; i < 3; i++) {
      const sentinel = await newServer('sentinel', async () => []);
      // Sentinel rewrites its configuration file, so each gets its own, in its own folder.
      await writeFile(
        join(sentinel.dir, 'sentinel.conf'),
        [
          `port ${sentinel.port}`,
          'bind 127.0.0.1',
          `sentinel monitor ${name} 127.0.0.1 ${master.port} 2`,
          `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 1_000}`,
          `sentinel failover-timeout ${name} 10000`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      );
      servers.push(sentinel);
      sentinels.push(sentinel);
      await sentinel.start();
    }
    await waitUntil(
      async () => (await replica.command('INFO', 'replication'))?.includes('master_link_status:up') ?? false,
      30_000,
      'the replica to sync',
    );
    // Each Sentinel has found the replica and the other Sentinels, so a failover can be voted.
    await waitUntil(
      async () => {
        for (const sentinel of sentinels) {
          const info = await sentinel.command('INFO', 'sentinel');
          if (!info?.includes(`slaves=1,sentinels=3`)) return false;
        }
        return true;
      },
      30_000,
      'the Sentinels to see the replica and each other',
    );
    const currentMaster = async () => {
      for (const sentinel of sentinels) {
        const redis = new Redis(sentinel.port, '127.0.0.1', {
          maxRetriesPerRequest: 0,
          retryStrategy: () => null,
        });
        redis.on('error', () => undefined);
        try {
          const [host, port] = (await redis.call('SENTINEL', 'get-master-addr-by-name', name)) as [
            string,
            string,
          ];
          return `${host}:${port}`;
        } catch {
          // ask the next one
        } finally {
          redis.disconnect();
        }
      }
      return undefined;
    };
    return {
      sentinels: sentinels.map((s) => s.address).join(','),
      name,
      master,
      replica,
      currentMaster,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function firstLive(nodes: RedisServer[]): RedisServer {
  const node = nodes.find((n) => n.alive);
  if (!node) throw new Error('no live node');
  return node;
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
