import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GenqueueClient } from './client.ts';
import { downloadBatch, targetPath } from './download.ts';
import { type ScriptedServer, startScriptedServer } from './internal/scripted-server.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('targetPath', () => {
  it.each(['jobs/j1/0.png', 'a.png', 'deep/er/still.webp'])('places %s under the directory', (key) => {
    expect(targetPath('/out', key)).toBe(join('/out', key));
  });

  it.each(['../escape.png', 'jobs/../../escape.png', '/etc/passwd', '', '.', 'jobs/..'])(
    'refuses %j, which would not be a file inside the directory',
    (key) => {
      expect(() => targetPath('/out', key)).toThrow(/refusing output key/);
    },
  );
});

describe('downloadBatch', () => {
  let server: ScriptedServer;
  let dir: string;
  // Objects the storage side serves, and what the API claims about them.
  const objects = new Map<string, Buffer>();
  let claims: { jobId: string; key: string; bytes: number; sha256: string }[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'genqueue-cli-dl-'));
    objects.clear();
    server = await startScriptedServer(({ path, query }) => {
      if (path === '/v1/batches/b_1/jobs') {
        expect(query.get('state')).toBe('succeeded');
        const jobs = [...new Set(claims.map((c) => c.jobId))].map((jobId) => ({
          id: jobId,
          state: 'succeeded',
          outputs: claims
            .filter((c) => c.jobId === jobId)
            .map((c) => ({
              bucket: 'b',
              key: c.key,
              url: `${server.url}/s3/${c.key}`,
              contentType: 'image/png',
              bytes: c.bytes,
              sha256: c.sha256,
            })),
        }));
        // Two pages, to cross a page boundary.
        const page = query.get('cursor') === 'p2' ? jobs.slice(1) : jobs.slice(0, 1);
        return { status: 200, json: { items: page, nextCursor: query.get('cursor') ? null : 'p2' } };
      }
      const body = objects.get(path.replace(/^\/s3\//, ''));
      return body ? { status: 200, raw: body } : { status: 404, raw: 'no such key' };
    });
  });

  afterEach(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  function put(
    jobId: string,
    key: string,
    body: Buffer,
    claim: Partial<{ bytes: number; sha256: string }> = {},
  ) {
    objects.set(key, body);
    claims.push({ jobId, key, bytes: body.length, sha256: sha(body), ...claim });
  }

  it('writes every output under its key, then skips them all on a second run', async () => {
    claims = [];
    put('j1', 'jobs/j1/0.png', Buffer.from('first image'));
    put('j1', 'jobs/j1/1.png', Buffer.from('second image'));
    put('j2', 'jobs/j2/0.png', Buffer.alloc(200_000, 7));
    const client = new GenqueueClient({ baseUrl: server.url, token: 't' });

    const first = await downloadBatch(client, 'b_1', { outDir: dir, concurrency: 2 });
    expect(first).toMatchObject({ downloaded: 3, skipped: 0, failed: [], bytes: 11 + 12 + 200_000 });
    for (const [key, body] of objects) expect((await readFile(join(dir, key))).equals(body)).toBe(true);

    const fetchedBefore = server.requests.filter((r) => r.path.startsWith('/s3/')).length;
    const second = await downloadBatch(client, 'b_1', { outDir: dir });
    expect(second).toMatchObject({ downloaded: 0, skipped: 3, failed: [] });
    expect(server.requests.filter((r) => r.path.startsWith('/s3/')).length).toBe(fetchedBefore);
  });

  it('replaces a file whose content differs, even at the same size', async () => {
    claims = [];
    put('j1', 'jobs/j1/0.png', Buffer.from('the real bytes'));
    await downloadBatch(new GenqueueClient({ baseUrl: server.url }), 'b_1', { outDir: dir });
    await writeFile(join(dir, 'jobs/j1/0.png'), 'the fake bytes');
    const again = await downloadBatch(new GenqueueClient({ baseUrl: server.url }), 'b_1', { outDir: dir });
    expect(again).toMatchObject({ downloaded: 1, skipped: 0 });
    expect(await readFile(join(dir, 'jobs/j1/0.png'), 'utf8')).toBe('the real bytes');
  });

  it('fails files that do not verify or cannot be fetched, leaving no file behind, and goes on with the rest', async () => {
    claims = [];
    put('j1', 'jobs/j1/0.png', Buffer.from('good'));
    put('j1', 'jobs/j1/1.png', Buffer.from('tampered'), { sha256: sha(Buffer.from('original')) });
    put('j2', 'jobs/j2/0.png', Buffer.from('truncated'), { bytes: 100 });
    put('j2', 'jobs/j2/1.png', Buffer.from('oversized body'), { bytes: 3 });
    claims.push({ jobId: 'j2', key: 'jobs/j2/2.png', bytes: 1, sha256: 'x' }); // storage answers 404
    const summary = await downloadBatch(new GenqueueClient({ baseUrl: server.url }), 'b_1', { outDir: dir });

    expect(summary.downloaded).toBe(1);
    const errors = Object.fromEntries(summary.failed.map((f) => [f.key, f.error]));
    expect(errors['jobs/j1/1.png']).toMatch(/sha256 mismatch/);
    expect(errors['jobs/j2/0.png']).toBe('received 9 bytes, expected 100');
    expect(errors['jobs/j2/1.png']).toBe('received more than the expected 3 bytes');
    expect(errors['jobs/j2/2.png']).toBe('storage answered HTTP 404');
    expect(await readdir(join(dir, 'jobs/j1'))).toEqual(['0.png']);
    expect(await readdir(join(dir, 'jobs/j2'))).toEqual([]);
  });
});
