/**
 * TLS and credentials through `createRedis`, on a real TLS-only `redis-server` with a password and
 * a certificate signed by a CA made for this test (openssl): the CA file and the password from the
 * configuration reach the connection and the connections BullMQ duplicates from it (a worker's
 * blocking connection); without the CA, or without TLS, nothing connects.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '@genqueue/config';
import { createRedis, type RedisClient } from '@genqueue/core';
import { answersPing, freePort } from '@genqueue/embedded';
import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const PASSWORD = 'tls-secret-0123';
let dir: string;
let server: ChildProcess | undefined;
let port: number;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genqueue-redis-tls-'));
  const at = (name: string) => join(dir, name);
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    at('ca.key'),
    '-out',
    at('ca.crt'),
    '-days',
    '1',
    '-subj',
    '/CN=genqueue test CA',
  ]);
  await run('openssl', [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    at('redis.key'),
    '-out',
    at('redis.csr'),
    '-subj',
    '/CN=localhost',
  ]);
  await writeFile(at('ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    at('redis.csr'),
    '-CA',
    at('ca.crt'),
    '-CAkey',
    at('ca.key'),
    '-CAcreateserial',
    '-out',
    at('redis.crt'),
    '-days',
    '1',
    '-extfile',
    at('ext'),
  ]);
  port = await freePort();
  server = spawn(
    'redis-server',
    [
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--tls-cert-file',
      at('redis.crt'),
      '--tls-key-file',
      at('redis.key'),
      '--tls-ca-cert-file',
      at('ca.crt'),
      '--tls-auth-clients',
      'no',
      '--requirepass',
      PASSWORD,
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    { cwd: dir, stdio: 'ignore' },
  );
  process.once('exit', () => server?.kill('SIGKILL'));
  const deadline = Date.now() + 15_000;
  while (!(await answers(env()))) {
    if (Date.now() > deadline) throw new Error('the TLS redis-server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
}, 60_000);

afterAll(async () => {
  if (server && server.exitCode === null) {
    server.kill('SIGKILL');
    await once(server, 'exit');
  }
  await rm(dir, { recursive: true, force: true });
});

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: `rediss://127.0.0.1:${port}`,
    REDIS_PASSWORD: PASSWORD,
    REDIS_TLS_CA_FILE: join(dir, 'ca.crt'),
    ...extra,
  };
}

function answers(vars: Record<string, string | undefined>): Promise<boolean> {
  return answersPing(
    createRedis(loadConfig(vars).redis, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      connectTimeout: 2_000,
      retryStrategy: () => null,
    }),
  );
}

describe('Redis over TLS with a password', () => {
  it('connects with the configured CA and password, and not without them', async () => {
    expect(await answers(env())).toBe(true);
    // REDIS_TLS=true does the same as rediss://.
    expect(await answers(env({ REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_TLS: 'true' }))).toBe(true);
    // The server's certificate is verified: without the CA it is refused.
    expect(await answers({ ...env(), REDIS_TLS_CA_FILE: undefined })).toBe(false);
    expect(await answers(env({ REDIS_PASSWORD: 'wrong' }))).toBe(false);
    expect(await answers(env({ REDIS_URL: `redis://127.0.0.1:${port}` }))).toBe(false);
  });

  it("carries TLS and the password to BullMQ's duplicated connections: a worker processes a job", async () => {
    const redis: RedisClient = createRedis(loadConfig(env()).redis);
    const queue = new Queue('tls-check', { connection: redis, prefix: '{gqtest-tls}' });
    const worker = new Worker('tls-check', async (job) => job.data.n * 2, {
      connection: redis,
      prefix: '{gqtest-tls}',
    });
    try {
      const done = new Promise<number>((resolve, reject) => {
        worker.on('completed', (_job, result: number) => resolve(result));
        worker.on('failed', (_job, error) => reject(error));
      });
      await queue.add('double', { n: 21 });
      expect(await done).toBe(42);
    } finally {
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
      await redis.quit();
    }
  });
});
