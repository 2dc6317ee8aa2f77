/**
 * SSRF: every place a user gives a URL that genqueue or a provider will fetch or call is checked
 * against the deny list (loopback, private, link-local and the metadata address, CGNAT, IPv6 forms
 * embedding them, non-http(s) schemes, `localhost` and internal names, and host names that resolve
 * to any of these), with `WEBHOOK_ALLOW_PRIVATE=false`, and refused with 400 naming the field:
 * `webhookUrl` of jobs and batches (JSON body, CSV and NDJSON query), input image URLs of jobs and
 * batch items (Kontext `image_list`, in items, defaults and CSV/NDJSON rows). Deliveries are checked
 * again at connect time, after DNS, so a receiver whose name later resolves to loopback (DNS
 * rebinding) gets nothing. The sink's downloads of provider result URLs go through the same
 * connect-time guard, every redirect hop included, with private hosts only as `SINK_ALLOWED_HOSTS`
 * lists them.
 *
 * DNS is the only part replaced: the real guard (`checkUrl`, `createGuardedDispatcher`) runs with
 * an injected resolver, so names resolve the same way on every machine and nothing leaves it.
 */
import type { LookupAddress } from 'node:dns';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ApiHandle, startApi } from '@genqueue/api';
import { loadConfig } from '@genqueue/config';
import { type Sink, SinkError, sinkFromSettings } from '@genqueue/sink';
import { checkUrl, createGuardedDispatcher, deliverWebhook } from '@genqueue/webhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, deletePrefix, uniquePrefix } from '../support/redis.ts';
import { startS3, type TestS3 } from '../support/s3.ts';
import { send } from './support/http.ts';

const TOKEN = 'ssrf-test-token-51c0d3';
const WEBHOOK_SECRET = `whsec_${Buffer.from('ssrf-webhook-secret').toString('base64')}`;

/** The test's DNS: names to answers. Unknown names do not resolve. */
const dns = new Map<string, string[]>([
  ['public.example.com', ['93.184.216.34']],
  ['rebind.example.com', ['127.0.0.1']],
  ['metadata.example.com', ['169.254.169.254']],
  ['mixed.example.com', ['93.184.216.34', '10.1.2.3']],
  ['v6-loopback.example.com', ['::1']],
  ['v6-mapped.example.com', ['::ffff:192.168.0.1']],
]);
const lookup = async (hostname: string): Promise<LookupAddress[]> => {
  const answers = dns.get(hostname.toLowerCase());
  if (!answers) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

/** URLs the guard must refuse, by what makes them private. */
const DENIED: [label: string, url: string][] = [
  ['loopback', 'http://127.0.0.1/x.png'],
  ['loopback, other address', 'http://127.8.9.10:6379/x.png'],
  ['loopback, short form', 'http://127.1/x.png'],
  ['loopback, hex', 'http://0x7f000001/x.png'],
  ['loopback, decimal', 'http://2130706433/x.png'],
  ['loopback, octal', 'http://0177.0.0.1/x.png'],
  ['this network', 'http://0.0.0.0/x.png'],
  ['private 10/8', 'http://10.0.0.5/x.png'],
  ['private 172.16/12', 'http://172.16.3.4/x.png'],
  ['private 192.168/16', 'https://192.168.1.1/x.png'],
  ['link-local', 'http://169.254.10.20/x.png'],
  ['cloud metadata', 'http://169.254.169.254/latest/meta-data/iam/'],
  // providers and URL parsers strip surrounding whitespace, so the finder must too, on every path
  ['cloud metadata after a space', ' http://169.254.169.254/latest/meta-data/'],
  ['Redis after a tab', '\thttp://127.0.0.1:6379/'],
  ['CGNAT', 'http://100.64.0.1/x.png'],
  ['multicast', 'http://224.0.0.1/x.png'],
  ['IPv6 loopback', 'http://[::1]/x.png'],
  ['IPv6 unspecified', 'http://[::]/x.png'],
  ['IPv4-mapped IPv6 loopback', 'http://[::ffff:127.0.0.1]/x.png'],
  ['IPv4-mapped IPv6 metadata', 'http://[::ffff:a9fe:a9fe]/x.png'],
  ['NAT64 metadata', 'http://[64:ff9b::a9fe:a9fe]/x.png'],
  ['6to4 loopback', 'http://[2002:7f00:1::]/x.png'],
  ['IPv6 unique local', 'http://[fd00::1]/x.png'],
  ['IPv6 link-local', 'http://[fe80::1]/x.png'],
  ['localhost', 'http://localhost/x.png'],
  ['localhost, upper case with a dot', 'http://LOCALHOST./x.png'],
  ['localhost subdomain', 'http://api.localhost/x.png'],
  ['internal name', 'http://metadata.google.internal/computeMetadata/v1/'],
  ['mDNS name', 'http://printer.local/x.png'],
  ['single-label name', 'http://intranet/x.png'],
  ['name resolving to loopback', 'http://rebind.example.com/x.png'],
  ['name resolving to the metadata address', 'http://metadata.example.com/x.png'],
  ['name with one private answer among public ones', 'http://mixed.example.com/x.png'],
  ['name resolving to IPv6 loopback', 'http://v6-loopback.example.com/x.png'],
  ['name resolving to a mapped private address', 'http://v6-mapped.example.com/x.png'],
  ['credentials in the URL', 'https://user:secret@public.example.com/x.png'],
];

/** Schemes other than http(s): refused where a URL is expected (`webhookUrl`). */
const DENIED_SCHEMES = [
  'ftp://public.example.com/hook',
  'file:///etc/passwd',
  'gopher://127.0.0.1:6379/_FLUSHALL',
  'javascript:alert(1)',
  'data:text/plain,hello',
  'dict://127.0.0.1:11211/stats',
  'ws://public.example.com/hook',
];

const ALLOWED = 'https://public.example.com/x.png';

const redis = connectRedis();
const prefixes: string[] = [];
const apis: ApiHandle[] = [];
let api: ApiHandle;
/** Refusals checked, by path (printed at the end). */
const counted = new Map<string, number>();

async function startGuardedApi(env: Record<string, string>, guarded: boolean): Promise<ApiHandle> {
  const prefix = uniquePrefix('sec-ssrf');
  prefixes.push(prefix);
  const handle = await startApi(
    loadConfig({
      QUEUE_PREFIX: prefix,
      API_TOKENS: TOKEN,
      LIBLIB_ACCESS_KEY: 'ak',
      LIBLIB_SECRET_KEY: 'sk',
      WEBHOOK_SECRET,
      WEBHOOK_ALLOW_PRIVATE: 'false',
      ...env,
    }),
    {
      host: '127.0.0.1',
      port: 0,
      redis,
      s3Ready: async () => {},
      objectUrl: async (bucket, key) => `https://cdn.example.com/${bucket}/${key}`,
      // The real guard with the test's DNS; without it, startApi builds the guard from the config.
      ...(guarded ? { checkUrl: (url: string) => checkUrl(url, { allowPrivate: false, lookup }) } : {}),
    },
  );
  apis.push(handle);
  return handle;
}

beforeAll(async () => {
  api = await startGuardedApi({}, true);
});

afterAll(async () => {
  for (const a of apis) await a.close();
  for (const p of prefixes) await deletePrefix(redis, p);
  redis.disconnect();
  console.log(
    `SSRF refusals checked: ${[...counted].map(([path, n]) => `${path} ${n}`).join(', ')}; total ${[
      ...counted.values(),
    ].reduce((a, b) => a + b, 0)}`,
  );
});

interface Refusal {
  status: number;
  paths: string[];
  text: string;
}

async function post(path: string, type: string, body: string, base = api): Promise<Refusal> {
  const res = await send(base.url, {
    method: 'POST',
    path,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': type },
    body,
  });
  const issues = (res.json as { error?: { issues?: { path: string }[] } } | undefined)?.error?.issues ?? [];
  return { status: res.status, paths: issues.map((i) => i.path), text: res.text };
}

/** Each user-given URL slot: how to put `url` there, and the field the refusal must name. */
const SLOTS: {
  name: string;
  field: string;
  schemes: boolean;
  request: (url: string) => [string, string, string];
}[] = [
  {
    name: 'job webhookUrl',
    field: 'webhookUrl',
    schemes: true,
    request: (url) => [
      '/v1/jobs',
      'application/json',
      JSON.stringify({ operation: 'kontext.text2img', input: { prompt: 'p' }, webhookUrl: url }),
    ],
  },
  {
    name: 'job image_list',
    field: 'input.image_list[0]',
    schemes: false,
    request: (url) => [
      '/v1/jobs',
      'application/json',
      JSON.stringify({ operation: 'kontext.img2img', input: { prompt: 'p', image_list: [url] } }),
    ],
  },
  {
    name: 'batch webhookUrl (JSON)',
    field: 'webhookUrl',
    schemes: true,
    request: (url) => [
      '/v1/batches',
      'application/json',
      JSON.stringify({ operation: 'kontext.text2img', prompts: ['p'], webhookUrl: url }),
    ],
  },
  {
    name: 'batch item image_list (JSON)',
    field: 'items[1].input.image_list[0]',
    schemes: false,
    request: (url) => [
      '/v1/batches',
      'application/json',
      JSON.stringify({
        operation: 'kontext.img2img',
        items: [
          { input: { prompt: 'p', image_list: [ALLOWED] } },
          { input: { prompt: 'p', image_list: [url] } },
        ],
      }),
    ],
  },
  {
    name: 'batch defaults image_list (JSON)',
    field: 'defaults.image_list[0]',
    schemes: false,
    request: (url) => [
      '/v1/batches',
      'application/json',
      JSON.stringify({ operation: 'kontext.img2img', defaults: { image_list: [url] }, prompts: ['p'] }),
    ],
  },
  {
    name: 'batch webhookUrl (CSV query)',
    field: 'webhookUrl',
    schemes: true,
    request: (url) => [
      `/v1/batches?operation=kontext.text2img&webhookUrl=${encodeURIComponent(url)}`,
      'text/csv',
      'prompt\na cat\n',
    ],
  },
  {
    name: 'batch row image_list (CSV)',
    field: 'rows[2].input.image_list[0]',
    schemes: false,
    request: (url) => [
      '/v1/batches?operation=kontext.img2img',
      'text/csv',
      // the cell holds the list as JSON, quoted for CSV (so a tab is `\t`, as JSON wants it)
      `prompt,image_list\na cat,"[""${ALLOWED}""]"\na dog,"[${JSON.stringify(url).replace(/"/g, '""')}]"\n`,
    ],
  },
  {
    name: 'batch webhookUrl (NDJSON query)',
    field: 'webhookUrl',
    schemes: true,
    request: (url) => [
      `/v1/batches?operation=kontext.text2img&webhookUrl=${encodeURIComponent(url)}`,
      'application/x-ndjson',
      '{"prompt":"a cat"}\n',
    ],
  },
  {
    name: 'batch line image_list (NDJSON)',
    field: 'rows[1].input.image_list[0]',
    schemes: false,
    request: (url) => [
      '/v1/batches?operation=kontext.img2img',
      'application/x-ndjson',
      `${JSON.stringify({ input: { prompt: 'p', image_list: [url] } })}\n`,
    ],
  },
];

describe('SSRF guard at registration (WEBHOOK_ALLOW_PRIVATE=false)', () => {
  for (const slot of SLOTS) {
    it(`${slot.name}: refuses every private target with 400 naming ${slot.field}`, async () => {
      const cases = [...DENIED.map(([, url]) => url), ...(slot.schemes ? DENIED_SCHEMES : [])];
      const failures: string[] = [];
      for (const url of cases) {
        const res = await post(...slot.request(url));
        if (res.status !== 400 || !res.paths.includes(slot.field)) {
          failures.push(`${url} → ${res.status} ${res.text.slice(0, 200)}`);
        }
      }
      expect(failures).toEqual([]);
      counted.set(slot.name, cases.length);
      // A public target passes the same slot, so the refusals above are not blanket ones.
      const allowed = await post(...slot.request(ALLOWED));
      expect(allowed.status, allowed.text).toBe(202);
    });
  }

  it('answers 400 for a batch naming more distinct hosts than it may resolve, before resolving any', async () => {
    const items = Array.from({ length: 65 }, (_, i) => ({
      input: { prompt: 'p', image_list: [`https://host-${i}.example.net/x.png`] },
    }));
    const res = await post(
      '/v1/batches',
      'application/json',
      JSON.stringify({ operation: 'kontext.img2img', items }),
    );
    expect(res.status, res.text).toBe(400);
    expect(res.paths).toContain('items');
    expect(res.text).toContain('more than 64 distinct hosts');
  });

  it('the API built from config alone (no injected guard) refuses literal private hosts and localhost', async () => {
    const plain = await startGuardedApi({}, false);
    const literal = DENIED.filter(([label]) => !label.startsWith('name ')).map(([, url]) => url);
    for (const url of [...literal, ...DENIED_SCHEMES]) {
      const res = await post(
        '/v1/jobs',
        'application/json',
        JSON.stringify({ operation: 'kontext.text2img', input: { prompt: 'p' }, webhookUrl: url }),
        plain,
      );
      expect(res.status, url).toBe(400);
      expect(res.paths, url).toContain('webhookUrl');
    }
    counted.set('config-built guard', literal.length + DENIED_SCHEMES.length);
  });
});

describe('SSRF guard at connect time (webhook deliveries)', () => {
  let receiver: Server;
  let port: number;
  let hits = 0;

  beforeAll(async () => {
    receiver = createServer((_req, res) => {
      hits++;
      res.statusCode = 204;
      res.end();
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    port = (receiver.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => receiver.close(resolve));
  });

  it('refuses, before connecting, a receiver that resolves to loopback or is a private literal', async () => {
    // `rebind.example.com` could have resolved to a public address when the job was posted.
    const dispatcher = createGuardedDispatcher({ allowPrivate: false, lookup });
    const targets = [
      `http://rebind.example.com:${port}/hook`,
      `http://v6-loopback.example.com:${port}/hook`,
      `http://mixed.example.com:${port}/hook`,
      `http://127.0.0.1:${port}/hook`,
      `http://[::ffff:127.0.0.1]:${port}/hook`,
      `http://localhost:${port}/hook`,
    ];
    for (const url of targets) {
      const result = await deliverWebhook({
        url,
        secret: WEBHOOK_SECRET,
        id: 'msg_ssrf',
        type: 'job.succeeded',
        payload: { id: 'j_x' },
        dispatcher,
        timeoutMs: 5_000,
      });
      expect(result.ok, url).toBe(false);
      expect(result.status, url).toBeUndefined();
      expect(result.error, url).toMatch(/loopback|private|internal|address/i);
    }
    expect(hits).toBe(0);
    counted.set('connect-time deliveries', targets.length);

    // The same receiver is reached when private targets are allowed: the refusals above were the guard's.
    const open = createGuardedDispatcher({ allowPrivate: true });
    const delivered = await deliverWebhook({
      url: `http://127.0.0.1:${port}/hook`,
      secret: WEBHOOK_SECRET,
      id: 'msg_ssrf',
      type: 'job.succeeded',
      payload: { id: 'j_x' },
      dispatcher: open,
    });
    expect(delivered.ok).toBe(true);
    expect(hits).toBe(1);
    await Promise.all([dispatcher.close(), open.close()]);
  });
});

describe('SSRF guard at connect time (sink downloads of provider result URLs)', () => {
  let files: Server;
  let port: number;
  let s3: TestS3;
  const hits: string[] = [];
  const PNG = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    Buffer.alloc(64),
  ]);

  beforeAll(async () => {
    s3 = await startS3({ bucket: 'ssrf-sink' });
    files = createServer((req, res) => {
      hits.push(req.url ?? '');
      if (req.url === '/to-metadata') {
        res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      } else if (req.url === '/to-other-loopback') {
        res.writeHead(302, { location: `http://127.0.0.2:${port}/x.png` }).end();
      } else {
        res.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
      }
    });
    await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
    port = (files.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => files.close(resolve));
    await s3?.stop();
  });

  /** The sink as the worker builds it from `SINK_ALLOWED_HOSTS` (and `WEBHOOK_ALLOW_PRIVATE=false`). */
  function sinkAllowing(allowedHosts: string) {
    const config = loadConfig({ ...s3.env, SINK_ALLOWED_HOSTS: allowedHosts });
    const dispatcher = createGuardedDispatcher({
      allowPrivate: false,
      allowed: config.s3.allowedHosts,
      subject: 'result host',
      hint: 'list it in SINK_ALLOWED_HOSTS if the provider serves results from a private address',
      lookup,
    });
    return { sink: sinkFromSettings(config.s3, undefined, dispatcher).sink, dispatcher };
  }

  async function refusedStore(sink: Sink, url: string): Promise<SinkError> {
    const error = await sink.store({ url, key: `refused/${hits.length}`, metadata: {} }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error, url).toBeInstanceOf(SinkError);
    return error as SinkError;
  }

  it('refuses a result URL on a private host, and a redirect to one, for good and with the reason', async () => {
    const { sink, dispatcher } = sinkAllowing(`127.0.0.1`);
    const direct = [
      'http://169.254.169.254/latest/meta-data/iam/',
      'http://metadata.example.com/latest/meta-data/',
      'http://10.0.0.5/x.png',
      `http://localhost:${port}/x.png`,
    ];
    for (const url of direct) {
      const error = await refusedStore(sink, url);
      expect(error.code, url).toBe('unsafe_url');
      expect(error.retryable, url).toBe(false);
      expect(error.message, url).toMatch(/refused: result host .*(link-local|private|internal)/);
      expect(error.message, url).toContain('SINK_ALLOWED_HOSTS');
    }
    // The allowed host answers, but each redirect hop is checked again when it connects.
    hits.length = 0;
    const metadata = await refusedStore(sink, `http://127.0.0.1:${port}/to-metadata`);
    expect(metadata).toMatchObject({ code: 'unsafe_url', retryable: false });
    expect(metadata.message).toContain('169.254.169.254');
    const loopback = await refusedStore(sink, `http://127.0.0.1:${port}/to-other-loopback`);
    expect(loopback).toMatchObject({ code: 'unsafe_url', retryable: false });
    expect(loopback.message).toContain('127.0.0.2');
    expect(hits).toEqual(['/to-metadata', '/to-other-loopback']);
    counted.set('sink downloads', direct.length + 2);

    // The listed host itself is fetched and stored.
    const stored = await sink.store({
      url: `http://127.0.0.1:${port}/x.png`,
      key: 'allowed/0',
      metadata: {},
    });
    expect(stored).toMatchObject({ key: 'allowed/0.png', bytes: PNG.length });
    await Promise.all([sink.close(), dispatcher.close()]);
  });

  it('allows by host name, by network, and nothing without a list', async () => {
    const byName = sinkAllowing('rebind.example.com');
    // rebind.example.com resolves to 127.0.0.1 in this test's DNS: listed by name, fetched.
    await expect(
      byName.sink.store({ url: `http://rebind.example.com:${port}/x.png`, key: 'name/0', metadata: {} }),
    ).resolves.toMatchObject({ bytes: PNG.length });
    const byNetwork = sinkAllowing('127.0.0.0/8');
    await expect(
      byNetwork.sink.store({ url: `http://127.0.0.1:${port}/x.png`, key: 'net/0', metadata: {} }),
    ).resolves.toMatchObject({ bytes: PNG.length });
    const none = sinkAllowing('');
    expect(await refusedStore(none.sink, `http://127.0.0.1:${port}/x.png`)).toMatchObject({
      code: 'unsafe_url',
      retryable: false,
    });
    for (const { sink, dispatcher } of [byName, byNetwork, none])
      await Promise.all([sink.close(), dispatcher.close()]);
  });
});
