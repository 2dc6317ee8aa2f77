import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CallAbortedError, type ErrorClass, ProviderError } from '@genqueue/model';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LiblibClient, type LiblibClientOptions } from './client.ts';
import { LiblibValidationError } from './errors.ts';
import {
  parseMultipart,
  type RecordedRequest,
  type ScriptedServer,
  sendJson,
  startScriptedServer,
} from './internal/scripted-server.ts';
import { sign } from './sign.ts';
import { LIBLIB_TEMPLATES } from './templates.ts';

const ACCESS_KEY = 'KIQMFXjHaobx7wqo9XvYKA';
const SECRET_KEY = 'KppKsn7ezZxhi6lIDjbo7YyVYzanSu2d';
const NOW = 1_725_458_584_000;
const PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const PNG = Buffer.from(PNG_BASE64, 'base64');
const REMOTE = 'https://liblibai-online.liblib.cloud/img/a.png';

let server: ScriptedServer;
let client: LiblibClient;
let nonces = 0;

function makeClient(overrides: Partial<LiblibClientOptions> = {}): LiblibClient {
  return new LiblibClient({
    baseUrl: server.url,
    accessKey: ACCESS_KEY,
    secretKey: SECRET_KEY,
    now: () => NOW,
    nonce: () => `nonce${++nonces}`,
    timeouts: { connectMs: 2_000, requestMs: 5_000 },
    ...overrides,
  });
}

const ok = (data: unknown) => (_req: RecordedRequest, res: Parameters<typeof sendJson>[0]) =>
  sendJson(res, 200, { code: 0, msg: '', data });

/** Answers the upload flow: signature (in the given spelling), then the OSS PostObject. */
function uploadResponder(spelling: 'camel' | 'lower', ossStatus = 204) {
  return (req: RecordedRequest, res: Parameters<typeof sendJson>[0]) => {
    if (req.path === '/api/generate/upload/signature') {
      const key = `img/${(req.json as { name: string }).name}.${(req.json as { extension: string }).extension}`;
      const fields =
        spelling === 'camel'
          ? {
              xOssDate: '20250430T000000Z',
              xOssExpires: 3600,
              xOssSignature: 'ossSig',
              xOssCredential: 'cred/20250430/cn-beijing/oss/aliyun_v4_request',
              xOssSignatureVersion: 'OSS4-HMAC-SHA256',
            }
          : {
              xossDate: '20250430T000000Z',
              xossExpires: '3600',
              xossSignature: 'ossSig',
              xossCredential: 'cred/20250430/cn-beijing/oss/aliyun_v4_request',
              xossSignatureVersion: 'OSS4-HMAC-SHA256',
            };
      return sendJson(res, 200, {
        code: 0,
        msg: '',
        data: { key, policy: 'cG9saWN5', postUrl: `${server.url}/oss/`, ...fields },
      });
    }
    if (req.path === '/oss/' || req.path === '/oss') {
      res.writeHead(ossStatus, ossStatus === 204 ? {} : { 'content-type': 'application/xml' });
      res.end(ossStatus === 204 ? undefined : '<Error><Code>AccessDenied</Code></Error>');
      return;
    }
    if (req.path.startsWith('/api/generate/'))
      return sendJson(res, 200, { code: 0, msg: '', data: { generateUuid: 'task-1' } });
    sendJson(res, 404, {});
  };
}

beforeAll(async () => {
  server = await startScriptedServer();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.requests.length = 0;
  nonces = 0;
  client = makeClient();
});
afterEach(async () => {
  await client.close();
});

describe('LiblibClient.submit', () => {
  it('signs the request as 002 §2.4 says and sends {templateUuid, generateParams}', async () => {
    server.respond(ok({ generateUuid: 'b2f8c7e6a1d94c0f9e3d2c1b0a987654' }));
    const result = await client.submit('kontext.text2img', {
      prompt: 'a poster',
      aspectRatio: '3:4',
      imgCount: 2,
    });
    expect(result).toEqual({
      generateUuid: 'b2f8c7e6a1d94c0f9e3d2c1b0a987654',
      statusPath: '/api/generate/status',
    });

    const [req] = server.requests;
    expect(req!.method).toBe('POST');
    expect(req!.path).toBe('/api/generate/kontext/text2img');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(Object.fromEntries(req!.query)).toEqual({
      AccessKey: ACCESS_KEY,
      Timestamp: String(NOW),
      SignatureNonce: 'nonce1',
      Signature: sign({
        secretKey: SECRET_KEY,
        uri: '/api/generate/kontext/text2img',
        timestamp: NOW,
        nonce: 'nonce1',
      }),
    });
    expect(req!.json).toEqual({
      templateUuid: LIBLIB_TEMPLATES.kontextText2img,
      generateParams: { prompt: 'a poster', aspectRatio: '3:4', imgCount: 2 },
    });
  });

  it('uses a fresh nonce per request', async () => {
    server.respond(ok({ generateUuid: 'x' }));
    await client.submit('kontext.text2img', { prompt: 'a' });
    await client.submit('kontext.text2img', { prompt: 'b' });
    expect(server.requests.map((r) => r.query.get('SignatureNonce'))).toEqual(['nonce1', 'nonce2']);
  });

  it.each([
    ['a 2001-character prompt', { prompt: 'x'.repeat(2001) }, 'prompt'],
    ['imgCount 5', { prompt: 'a', imgCount: 5 }, 'imgCount'],
    ['aspectRatio 5:4', { prompt: 'a', aspectRatio: '5:4' }, 'aspectRatio'],
  ])('rejects %s before any request leaves', async (_label, input, field) => {
    server.respond(ok({ generateUuid: 'x' }));
    const error = await client.submit('kontext.text2img', input).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LiblibValidationError);
    expect(error).not.toBeInstanceOf(ProviderError);
    expect((error as LiblibValidationError).issues.map((i) => i.path)).toEqual([field]);
    expect((error as Error).message).toContain(field);
    expect(server.requests).toHaveLength(0);
  });

  it('accepts a prompt of exactly 2000 characters and passes unknown fields through', async () => {
    server.respond(ok({ generateUuid: 'x' }));
    await client.submit('kontext.text2img', { prompt: 'x'.repeat(2000), futureKnob: 7 });
    expect(server.requests[0]!.json).toMatchObject({
      generateParams: { prompt: 'x'.repeat(2000), futureKnob: 7 },
    });
  });

  it('lets the caller pick the custom-model template (F.1 by default, XL on request)', async () => {
    server.respond(ok({ generateUuid: 'x' }));
    await client.submit('custom.text2img', { prompt: 'a', width: 768, height: 1024 });
    await client.submit('custom.text2img', {
      templateUuid: LIBLIB_TEMPLATES.customSdText2img,
      checkPointId: '0ea388c7eb854be3ba3c6f65aac6bfd3',
      prompt: 'a',
      additionalNetwork: [{ modelId: '31360f2f031b4ff6b589412a52713fcf', weight: 0.3 }],
    });
    const [f1, xl] = server.requests.map((r) => r.json as { templateUuid: string; generateParams: object });
    expect(f1!.templateUuid).toBe(LIBLIB_TEMPLATES.customF1Text2img);
    expect(xl!.templateUuid).toBe(LIBLIB_TEMPLATES.customSdText2img);
    expect(xl!.generateParams).not.toHaveProperty('templateUuid');
    expect(server.requests[1]!.path).toBe('/api/generate/webui/text2img');
  });

  it('refuses unknown operations and model.version as a submission', async () => {
    await expect(client.submit('kontext.txt2img', { prompt: 'a' })).rejects.toBeInstanceOf(
      LiblibValidationError,
    );
    await expect(
      client.submit('model.version', { versionUuid: '21df5d84cca74f7a885ba672b5a80d19' }),
    ).rejects.toBeInstanceOf(LiblibValidationError);
    expect(server.requests).toHaveLength(0);
  });

  it('treats code 0 without a generateUuid as transient and ambiguous', async () => {
    server.respond(ok({}));
    const error = (await client
      .submit('kontext.text2img', { prompt: 'a' })
      .catch((e: unknown) => e)) as ProviderError;
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.errorClass).toBe('transient');
    expect(error.ambiguous).toBe(true);
  });
});

describe('LiblibClient.status', () => {
  it.each([
    ['star3.text2img', '/api/generate/webui/status'],
    ['custom.img2img', '/api/generate/webui/status'],
    ['kontext.img2img', '/api/generate/status'],
    ['kling.text2video', '/api/generate/status'],
    ['qwen.text2img', '/api/generate/status'],
    ['comfyui.run', '/api/generate/comfy/status'],
  ])('asks %s at %s and normalizes the answer', async (operation, path) => {
    server.respond(
      ok({
        generateUuid: 'task-1',
        generateStatus: 5,
        percentCompleted: 0,
        pointsCost: 58,
        accountBalance: 900,
        images: [{ imageUrl: REMOTE, seed: 42, auditStatus: 3 }],
      }),
    );
    const status = await client.status(operation, 'task-1');
    expect(status).toEqual({
      state: 'succeeded',
      providerStatus: '5',
      outputs: [{ url: REMOTE, kind: 'image', seed: 42 }],
      pointsCost: 58,
      accountBalance: 900,
    });
    expect(server.requests[0]!.path).toBe(path);
    expect(server.requests[0]!.json).toEqual({ generateUuid: 'task-1' });
    expect(server.requests[0]!.query.get('Signature')).toBe(
      sign({ secretKey: SECRET_KEY, uri: path, timestamp: NOW, nonce: 'nonce1' }),
    );
  });

  it('reports a running task without waiting on percentCompleted', async () => {
    server.respond(ok({ generateUuid: 'task-1', generateStatus: 4, percentCompleted: 1 }));
    // Still running at 100 %: the progress is passed on as a hint, the task is not ended.
    expect(await client.status('kontext.text2img', 'task-1')).toEqual({
      state: 'running',
      providerStatus: '4',
      progress: 1,
    });
  });
});

describe('error classification (002 §13)', () => {
  const CASES: [code: number, errorClass: ErrorClass][] = [
    [401, 'account'],
    [403, 'account'],
    [429, 'retry_later'],
    [100000, 'invalid_job'],
    [100010, 'account'],
    [100020, 'account'],
    [100021, 'account'],
    [100030, 'invalid_job'],
    [100031, 'invalid_job'],
    [100032, 'transient'],
    [100050, 'invalid_job'],
    [100051, 'invalid_job'],
    [100052, 'invalid_job'],
    [100053, 'invalid_job'],
    [100054, 'retry_later'],
    [100055, 'invalid_job'],
    [100120, 'invalid_job'],
    [200000, 'transient'],
    [200001, 'invalid_job'],
    [210000, 'transient'],
    [123456, 'invalid_job'],
  ];

  it.each(CASES)('code %i in a 200 envelope is %s', async (code, errorClass) => {
    // The provider echoes the signature back: it must not reach the error message.
    server.respond((req, res) =>
      sendJson(res, 200, { code, msg: `bad request, signature ${req.query.get('Signature')}`, data: null }),
    );
    const error = (await client
      .submit('kontext.text2img', { prompt: 'a' })
      .catch((e: unknown) => e)) as ProviderError;
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.errorClass).toBe(errorClass);
    expect(error.code).toBe(String(code));
    expect(error.status).toBe(200);
    expect(error.provider).toBe('liblib');
    expect(error.ambiguous).toBe(false);
    expect(error.message).toContain(`code ${code}`);
    expect(error.message).not.toContain(SECRET_KEY);
    expect(error.message).not.toContain(server.requests.at(-1)!.query.get('Signature'));
    expect(error.message).toContain('[redacted]');
  });

  it.each([
    [400, 'invalid_job'],
    [401, 'account'],
    [403, 'account'],
    [404, 'invalid_job'],
    [422, 'invalid_job'],
    [429, 'retry_later'],
    [500, 'transient'],
    [502, 'transient'],
    [503, 'transient'],
  ] as [number, ErrorClass][])('HTTP %i without an envelope is %s', async (status, errorClass) => {
    server.respond((_req, res) => {
      res.writeHead(status, { 'content-type': 'text/html' });
      res.end(`<html>${status}</html>`);
    });
    const error = (await client
      .status('kontext.text2img', 'task-1')
      .catch((e: unknown) => e)) as ProviderError;
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.errorClass).toBe(errorClass);
    expect(error.status).toBe(status);
    expect(error.code).toBe(String(status));
    expect(error.message).toContain(`HTTP ${status}`);
  });

  it('prefers the envelope code over the HTTP status when both are present', async () => {
    server.respond((_req, res) => sendJson(res, 400, { code: 100054, msg: 'too many tasks' }));
    const error = (await client
      .submit('kontext.text2img', { prompt: 'a' })
      .catch((e: unknown) => e)) as ProviderError;
    expect(error.errorClass).toBe('retry_later');
    expect(error.code).toBe('100054');
    expect(error.status).toBe(400);
  });

  it.each([
    ['HTTP 429', 429, { code: 429, msg: 'Too Many Requests' }],
    ['code 100054', 200, { code: 100054, msg: 'concurrency limit' }],
  ])('honours Retry-After on %s', async (_label, status, body) => {
    server.respond((_req, res) => sendJson(res, status, body, { 'retry-after': '3' }));
    const error = (await client
      .submit('kontext.text2img', { prompt: 'a' })
      .catch((e: unknown) => e)) as ProviderError;
    expect(error.errorClass).toBe('retry_later');
    expect(error.retryAfterMs).toBe(3000);
  });

  it('marks a gateway 5xx on a submission as ambiguous, but not a status call', async () => {
    server.respond((_req, res) => {
      res.writeHead(504);
      res.end('gateway timeout');
    });
    const submit = (await client
      .submit('kontext.text2img', { prompt: 'a' })
      .catch((e: unknown) => e)) as ProviderError;
    expect(submit.errorClass).toBe('transient');
    expect(submit.ambiguous).toBe(true);
    const status = (await client.status('kontext.text2img', 'x').catch((e: unknown) => e)) as ProviderError;
    expect(status.ambiguous).toBe(false);
  });

  it('treats malformed JSON as transient; ambiguous only for a submission', async () => {
    server.respond((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"code":0,"data":');
    });
    const submit = (await client
      .submit('kontext.text2img', { prompt: 'a' })
      .catch((e: unknown) => e)) as ProviderError;
    expect(submit).toBeInstanceOf(ProviderError);
    expect(submit.errorClass).toBe('transient');
    expect(submit.ambiguous).toBe(true);
    const status = (await client.status('kontext.text2img', 'x').catch((e: unknown) => e)) as ProviderError;
    expect(status.errorClass).toBe('transient');
    expect(status.ambiguous).toBe(false);
  });

  it('treats a response-headers timeout after sending as transient and ambiguous', async () => {
    const slow = makeClient({ timeouts: { requestMs: 300 } });
    server.respond(() => {
      // Never answer; the client's headers timeout fires.
    });
    const error = (await slow
      .submit('kontext.text2img', { prompt: 'a' })
      .catch((e: unknown) => e)) as ProviderError;
    await slow.close();
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.errorClass).toBe('transient');
    expect(error.ambiguous).toBe(true);
    expect(error.message).toContain('timed out after 300 ms');
  });

  it('treats a connection reset after sending as transient and ambiguous', async () => {
    server.respond((_req, res) => {
      res.socket?.destroy();
    });
    const error = (await client
      .submit('kontext.text2img', { prompt: 'a' })
      .catch((e: unknown) => e)) as ProviderError;
    expect(error.errorClass).toBe('transient');
    expect(error.ambiguous).toBe(true);
  });

  it('treats a refused connection as transient and not ambiguous (nothing was sent)', async () => {
    const closed = await startScriptedServer();
    const url = closed.url;
    await closed.close();
    const refused = makeClient({ baseUrl: url });
    const error = (await refused
      .submit('kontext.text2img', { prompt: 'a' })
      .catch((e: unknown) => e)) as ProviderError;
    await refused.close();
    expect(error.errorClass).toBe('transient');
    expect(error.ambiguous).toBe(false);
    expect(error.message).not.toContain(SECRET_KEY);
    expect(error.message).not.toContain('Signature');
  });

  it("reports the caller's own abort of a submission as CallAbortedError, ambiguous", async () => {
    server.respond(() => {});
    const controller = new AbortController();
    const pending = client.submit('kontext.text2img', { prompt: 'a' }, { signal: controller.signal });
    // Abort once the request has reached the server.
    await expect.poll(() => server.requests.length, { timeout: 10_000 }).toBe(1);
    controller.abort();
    const error = (await pending.catch((e: unknown) => e)) as CallAbortedError;
    expect(error).toBeInstanceOf(CallAbortedError);
    expect(error).not.toBeInstanceOf(ProviderError);
    expect(error.ambiguous).toBe(true);
  });

  it("reports the caller's abort before sending as CallAbortedError, not ambiguous, and sends nothing", async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await client
      .submit('kontext.text2img', { prompt: 'a' }, { signal: controller.signal })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CallAbortedError);
    expect((error as CallAbortedError).ambiguous).toBe(false);
    expect(server.requests).toHaveLength(0);
  });
});

describe('LiblibClient.upload', () => {
  it.each(['camel', 'lower'] as const)(
    'uploads a data URL: signed signature call, then an OSS PostObject with file last (%s spelling)',
    async (spelling) => {
      server.respond(uploadResponder(spelling));
      const url = await client.upload(`data:image/png;base64,${PNG_BASE64}`, { name: 'cat picture' });

      const [signature, oss] = server.requests;
      expect(signature!.path).toBe('/api/generate/upload/signature');
      expect(signature!.json).toEqual({ name: 'cat_picture', extension: 'png' });
      expect(signature!.query.get('Signature')).toBe(
        sign({
          secretKey: SECRET_KEY,
          uri: '/api/generate/upload/signature',
          timestamp: NOW,
          nonce: 'nonce1',
        }),
      );

      expect(oss!.path).toBe('/oss/');
      // The OSS PostObject is not a LiblibAI call: no LiblibAI signature in it.
      expect(oss!.query.get('AccessKey')).toBeNull();
      const parts = parseMultipart(oss!.body, String(oss!.headers['content-type']));
      expect(parts.map((p) => p.name)).toEqual([
        'key',
        'policy',
        'x-oss-date',
        'x-oss-expires',
        'x-oss-signature',
        'x-oss-credential',
        'x-oss-signature-version',
        'file',
      ]);
      const field = (name: string) => parts.find((p) => p.name === name)!.value.toString();
      expect(field('key')).toBe('img/cat_picture.png');
      expect(field('x-oss-expires')).toBe('3600');
      expect(field('x-oss-signature-version')).toBe('OSS4-HMAC-SHA256');
      expect(parts.at(-1)!.value.equals(PNG)).toBe(true);
      expect(parts.at(-1)!.filename).toBe('cat_picture.png');
      expect(parts.at(-1)!.contentType).toBe('image/png');
      expect(Number(oss!.headers['content-length'])).toBe(oss!.body.length);

      expect(url).toBe(`${server.url}/oss/img/cat_picture.png`);
    },
  );

  it('returns http(s) URLs untouched without any request', async () => {
    expect(await client.upload(REMOTE)).toBe(REMOTE);
    expect(server.requests).toHaveLength(0);
  });

  it('uploads bare base64 and raw bytes, naming them by content', async () => {
    server.respond(uploadResponder('camel'));
    const fromBase64 = await client.upload(PNG_BASE64);
    const fromBytes = await client.upload(PNG);
    expect(fromBase64).toBe(fromBytes);
    expect(fromBase64).toMatch(/\/oss\/img\/genqueue-[0-9a-f]{16}\.png$/);
  });

  it.each([
    [
      'a GIF image',
      `data:image/gif;base64,${Buffer.from('GIF89a\x01\0\x01\0').toString('base64')}`,
      'must be PNG, JPEG or WebP (got GIF)',
    ],
    ['an image over 10 MB', Buffer.concat([PNG, Buffer.alloc(10 * 1024 * 1024)]), 'at most'],
    ['an ftp URL', 'ftp://example.com/a.png', 'http(s) URL'],
  ])('refuses %s as invalid_job without any request', async (_label, source, text) => {
    const error = (await client.upload(source).catch((e: unknown) => e)) as ProviderError;
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.errorClass).toBe('invalid_job');
    expect(error.message).toContain(text);
    expect(server.requests).toHaveLength(0);
  });

  it('refuses a local path or file:// URL without reading it: a present file answers as a missing one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'liblib-upload-'));
    try {
      const present = join(dir, 'reference.png');
      await writeFile(present, PNG);
      const errors = (await Promise.all(
        [present, `file://${present}`, join(dir, 'missing.png')].map((source) =>
          client.upload(source).catch((e: unknown) => e),
        ),
      )) as ProviderError[];
      for (const error of errors) {
        expect(error).toBeInstanceOf(ProviderError);
        expect(error.errorClass).toBe('invalid_job');
        expect(error.message).toContain('local files are not read');
      }
      expect(new Set(errors.map((e) => e.message)).size).toBe(1);
      expect(server.requests).toHaveLength(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('classifies an OSS refusal as transient (a fresh signature fixes it)', async () => {
    server.respond(uploadResponder('camel', 403));
    const error = (await client.upload(PNG).catch((e: unknown) => e)) as ProviderError;
    expect(error.errorClass).toBe('transient');
    expect(error.status).toBe(403);
    expect(error.code).toBe('AccessDenied');
  });

  it('rejects a signature answer missing OSS fields as transient', async () => {
    server.respond(ok({ key: 'k', policy: 'p', postUrl: `${server.url}/oss` }));
    const error = (await client.upload(PNG).catch((e: unknown) => e)) as ProviderError;
    expect(error.errorClass).toBe('transient');
    expect(error.message).toContain('malformed upload signature');
  });

  it('uploads the image fields of a submission and sends their URLs', async () => {
    server.respond(uploadResponder('camel'));
    await client.submit('kontext.img2img', {
      prompt: 'merge these',
      image_list: [REMOTE, `data:image/png;base64,${PNG_BASE64}`],
    });
    expect(server.requests.map((r) => r.path)).toEqual([
      '/api/generate/upload/signature',
      '/oss/',
      '/api/generate/kontext/img2img',
    ]);
    const body = server.requests[2]!.json as { generateParams: { image_list: string[] } };
    expect(body.generateParams.image_list[0]).toBe(REMOTE);
    expect(body.generateParams.image_list[1]).toMatch(
      new RegExp(`^${server.url}/oss/img/genqueue-[0-9a-f]{16}\\.png$`),
    );
  });

  it('uploads nested image fields: ControlNet units and the inpaint mask', async () => {
    server.respond(uploadResponder('camel'));
    await client.submit('custom.img2img', {
      prompt: 'a',
      sourceImage: REMOTE,
      mode: 4,
      inpaintParam: { maskImage: PNG_BASE64 },
      controlNet: [{ sourceImage: PNG_BASE64, preprocessor: 1, model: 'm', maskImage: '' }],
    });
    const body = server.requests.at(-1)!.json as {
      generateParams: {
        sourceImage: string;
        inpaintParam: { maskImage: string };
        controlNet: { sourceImage: string; maskImage: string }[];
      };
    };
    expect(body.generateParams.sourceImage).toBe(REMOTE);
    expect(body.generateParams.inpaintParam.maskImage).toContain('/oss/img/');
    expect(body.generateParams.controlNet[0]!.sourceImage).toContain('/oss/img/');
    expect(body.generateParams.controlNet[0]!.maskImage).toBe('');
    expect(server.requests.filter((r) => r.path === '/oss/')).toHaveLength(2);
  });
});

describe('LiblibClient.modelVersion', () => {
  it('looks a model version up (002 §4.1.2)', async () => {
    server.respond(
      ok({
        version_uuid: '21df5d84cca74f7a885ba672b5a80d19',
        model_name: 'AWPortrait XL',
        version_name: '1.1',
        baseAlgo: '基础算法 XL',
        show_type: '1',
        commercial_use: '1',
        model_url: 'https://www.liblib.art/modelinfo/f8b990b20cb943e3aa0e96f34099d794',
      }),
    );
    const version = await client.modelVersion('21df5d84cca74f7a885ba672b5a80d19');
    expect(version).toMatchObject({
      versionUuid: '21df5d84cca74f7a885ba672b5a80d19',
      modelName: 'AWPortrait XL',
      versionName: '1.1',
      baseAlgo: '基础算法 XL',
      showType: '1',
      commercialUse: true,
    });
    expect(server.requests[0]!.path).toBe('/api/model/version/get');
    expect(server.requests[0]!.json).toEqual({ versionUuid: '21df5d84cca74f7a885ba672b5a80d19' });
  });
});

describe('LiblibClient dispatcher', () => {
  it('uses an injected dispatcher and leaves it open on close()', async () => {
    const agent = new Agent({ keepAliveTimeout: 1_000 });
    let dispatched = 0;
    const counting = agent.compose((dispatch) => (opts, handler) => {
      dispatched++;
      return dispatch(opts, handler);
    });
    const injected = makeClient({ dispatcher: counting });
    server.respond(ok({ generateUuid: 'x' }));
    await injected.submit('kontext.text2img', { prompt: 'a' });
    await injected.close();
    expect(dispatched).toBe(1);
    expect(agent.closed).toBe(false);
    await agent.close();
  });
});
