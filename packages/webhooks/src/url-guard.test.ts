import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkUrl, createGuardedDispatcher, type HostResolver, UnsafeUrlError } from './url-guard.ts';

const resolvesTo =
  (...addresses: string[]): HostResolver =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
const mustNotResolve: HostResolver = async (hostname) => {
  throw new Error(`lookup of ${hostname} should not happen`);
};

async function refusal(promise: Promise<unknown>): Promise<UnsafeUrlError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UnsafeUrlError);
  return error as UnsafeUrlError;
}

describe('checkUrl', () => {
  it.each([
    ['http://127.0.0.1/hook', 'private_address', 'loopback'],
    ['http://10.0.0.1/hook', 'private_address', 'private'],
    ['http://169.254.169.254/latest/meta-data/', 'private_address', 'link-local'],
    ['http://[::1]:8080/hook', 'private_address', 'loopback'],
    ['http://[::ffff:127.0.0.1]/hook', 'private_address', 'loopback'],
    ['http://2130706433/hook', 'private_address', 'loopback'],
    ['http://0x7f.1/hook', 'private_address', 'loopback'],
    ['http://100.64.1.1/hook', 'private_address', 'carrier-grade NAT'],
    ['http://0.0.0.0:6379/', 'private_address', 'this network'],
    ['http://localhost:3000/hook', 'private_name', 'internal host'],
    ['http://metadata.google.internal/computeMetadata/v1/', 'private_name', 'internal host'],
    ['file:///etc/passwd', 'scheme', 'file:'],
    ['gopher://example.com/_SET', 'scheme', 'gopher:'],
    ['ftp://example.com/', 'scheme', 'ftp:'],
    ['not a url', 'invalid_url', 'not a valid URL'],
  ])('refuses %s (%s)', async (url, reason, fragment) => {
    const error = await refusal(checkUrl(url, { allowPrivate: false, lookup: mustNotResolve }));
    expect(error.reason).toBe(reason);
    expect(error.message).toContain(fragment);
  });

  it('refuses credentials without repeating them', async () => {
    const error = await refusal(checkUrl('http://user:hunter2@example.com/hook', { allowPrivate: false }));
    expect(error.reason).toBe('credentials');
    expect(error.message).not.toContain('hunter2');
  });

  it('refuses host names whose DNS answers include a private address', async () => {
    const loopback = await refusal(
      checkUrl('https://hooks.example.com/x', { allowPrivate: false, lookup: resolvesTo('127.0.0.1') }),
    );
    expect(loopback.message).toContain('resolves to 127.0.0.1');
    // One bad answer among good ones is enough: the connection may pick any of them.
    const mixed = await refusal(
      checkUrl('https://hooks.example.com/x', {
        allowPrivate: false,
        lookup: resolvesTo('93.184.216.34', 'fd00::1'),
      }),
    );
    expect(mixed.reason).toBe('private_address');
  });

  it('accepts public literal IPs without any lookup or connection, and public names', async () => {
    await expect(
      checkUrl('https://93.184.216.34/hook', { allowPrivate: false, lookup: mustNotResolve }),
    ).resolves.toBe(undefined);
    await expect(
      checkUrl('http://[2606:2800:220:1:248:1893:25c8:1946]/', {
        allowPrivate: false,
        lookup: mustNotResolve,
      }),
    ).resolves.toBe(undefined);
    await expect(
      checkUrl('https://hooks.example.com/x', { allowPrivate: false, lookup: resolvesTo('93.184.216.34') }),
    ).resolves.toBe(undefined);
  });

  it('leaves unresolvable names to the connect-time guard', async () => {
    const failing: HostResolver = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    };
    await expect(
      checkUrl('https://not-yet.example.com/', { allowPrivate: false, lookup: failing }),
    ).resolves.toBe(undefined);
  });

  it('allows private targets with allowPrivate, but still checks scheme and credentials', async () => {
    await expect(
      checkUrl('http://127.0.0.1:8080/hook', { allowPrivate: true, lookup: mustNotResolve }),
    ).resolves.toBe(undefined);
    await expect(
      checkUrl('http://localhost/hook', { allowPrivate: true, lookup: mustNotResolve }),
    ).resolves.toBe(undefined);
    expect((await refusal(checkUrl('file:///etc/passwd', { allowPrivate: true }))).reason).toBe('scheme');
    expect((await refusal(checkUrl('http://u:p@127.0.0.1/', { allowPrivate: true }))).reason).toBe(
      'credentials',
    );
  });
});

describe('createGuardedDispatcher', () => {
  let server: Server;
  let port: number;
  let connections = 0;

  beforeAll(async () => {
    server = createServer((_req, res) => res.end('reached'));
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('refuses literal private IPs before connecting', async () => {
    const dispatcher = createGuardedDispatcher({ allowPrivate: false, lookup: mustNotResolve });
    const before = connections;
    for (const host of [
      `127.0.0.1:${port}`,
      `[::1]:${port}`,
      `[::ffff:127.0.0.1]:${port}`,
      `localhost:${port}`,
    ]) {
      const error = await refusal(request(`http://${host}/`, { dispatcher }));
      expect(['private_address', 'private_name']).toContain(error.reason);
    }
    expect(connections).toBe(before);
    await dispatcher.close();
  });

  it('re-checks DNS answers at connect time (rebinding)', async () => {
    // The name looked public when the URL was registered...
    let answers = ['93.184.216.34'];
    const lookup: HostResolver = async () => answers.map((address) => ({ address, family: 4 }));
    await checkUrl(`http://rebind.example.com:${port}/`, { allowPrivate: false, lookup });
    // ...and points at loopback when the delivery connects.
    answers = ['127.0.0.1'];
    const dispatcher = createGuardedDispatcher({ allowPrivate: false, lookup });
    const before = connections;
    const error = await refusal(request(`http://rebind.example.com:${port}/`, { dispatcher }));
    expect(error.message).toContain('resolves to 127.0.0.1');
    expect(connections).toBe(before);
    await dispatcher.close();
  });

  it('connects to private targets when allowed, through the injected resolver', async () => {
    const dispatcher = createGuardedDispatcher({ allowPrivate: true, lookup: resolvesTo('127.0.0.1') });
    const response = await request(`http://hooks.test:${port}/`, { dispatcher });
    expect(response.statusCode).toBe(200);
    expect(await response.body.text()).toBe('reached');
    await dispatcher.close();
  });
});
