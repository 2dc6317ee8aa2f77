/**
 * Credentials are compared in constant time: every comparison goes through
 * `crypto.timingSafeEqual` on two SHA-256 digests (always 32 bytes, whatever the lengths of the
 * strings), every configured token is compared on every request (no early exit on the first
 * match), and a token's prefix or extension never passes. No timing measurements: they flake on a
 * loaded machine. Instead `timingSafeEqual` is wrapped to record what it was given.
 */
import type { NextFunction, Request, Response } from 'express';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const calls: { a: number; b: number }[] = [];

vi.mock('node:crypto', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:crypto')>();
  return {
    ...original,
    timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      calls.push({ a: a.byteLength, b: b.byteLength });
      return original.timingSafeEqual(a, b);
    },
  };
});

const { basicAuth, bearerAuth, safeEqual } = await import('../../apps/api/src/auth.ts');

beforeEach(() => {
  calls.length = 0;
});

const TOKEN = 'gq_security-suite-token-8b0e5d3f1a2c';
const OTHER = 'gq_another-configured-token-11aa22bb';

/** Runs a middleware on a fake request; resolves with the status it answered, or 'next'. */
async function run(
  middleware: (req: Request, res: Response, next: NextFunction) => unknown,
  authorization?: string,
): Promise<number | 'next'> {
  let outcome: number | 'next' = 'next';
  const res = {
    locals: {},
    status(code: number) {
      outcome = code;
      return this;
    },
    set() {
      return this;
    },
    json() {
      return this;
    },
  } as unknown as Response;
  const req = { get: (name: string) => (name.toLowerCase() === 'authorization' ? authorization : undefined) };
  await middleware(req as Request, res, () => {});
  return outcome;
}

describe('safeEqual', () => {
  it('is true only for the same string; prefixes, extensions and case changes are false', () => {
    expect(safeEqual(TOKEN, TOKEN)).toBe(true);
    expect(safeEqual(TOKEN, TOKEN.slice(0, -1))).toBe(false);
    expect(safeEqual(TOKEN, `${TOKEN}x`)).toBe(false);
    expect(safeEqual(TOKEN, TOKEN.toUpperCase())).toBe(false);
    expect(safeEqual(TOKEN, '')).toBe(false);
    expect(safeEqual('', '')).toBe(true);
  });

  it('compares fixed-length digests with timingSafeEqual, whatever the lengths (never throws on a length mismatch)', () => {
    for (const other of ['', 'x', TOKEN.slice(0, 5), `${TOKEN}${'y'.repeat(10_000)}`, '🔑'.repeat(50)]) {
      calls.length = 0;
      expect(safeEqual(TOKEN, other)).toBe(false);
      expect(calls).toEqual([{ a: 32, b: 32 }]);
    }
  });
});

describe('bearerAuth', () => {
  const middleware = bearerAuth([TOKEN, OTHER]);

  it('lets the exact tokens through and refuses prefixes, extensions and other schemes', async () => {
    expect(await run(middleware, `Bearer ${TOKEN}`)).toBe('next');
    expect(await run(middleware, `Bearer ${OTHER}`)).toBe('next');
    for (const header of [
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Bearer ${TOKEN.slice(0, 3)}`,
      `Bearer ${TOKEN}0`,
      `Bearer ${TOKEN}${OTHER}`,
      `Bearer ${TOKEN} ${TOKEN}`,
      `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`,
      TOKEN,
      'Bearer ',
      undefined,
    ]) {
      expect(await run(middleware, header), String(header)).toBe(401);
    }
  });

  it('compares the given token with every configured one, as 32-byte digests, even when the first matches', async () => {
    for (const given of [TOKEN, OTHER, 'short', `${TOKEN}-extended-${'z'.repeat(500)}`]) {
      calls.length = 0;
      await run(middleware, `Bearer ${given}`);
      expect(calls, given).toEqual([
        { a: 32, b: 32 },
        { a: 32, b: 32 },
      ]);
    }
  });
});

describe('basicAuth', () => {
  const middleware = basicAuth({ user: 'ops', password: 'board-password-4c1d9e' });
  const basic = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  it('needs both the user and the password, exactly', async () => {
    expect(await run(middleware, basic('ops', 'board-password-4c1d9e'))).toBe('next');
    for (const header of [
      basic('ops', 'board-password-4c1d9'),
      basic('ops', 'board-password-4c1d9e!'),
      basic('op', 'board-password-4c1d9e'),
      basic('ops:board-password-4c1d9e', ''),
      basic('', ''),
      'Basic',
      `Bearer ${TOKEN}`,
      undefined,
    ]) {
      expect(await run(middleware, header), String(header)).toBe(401);
    }
  });

  it('always compares both the user and the password as 32-byte digests', async () => {
    for (const header of [basic('ops', 'wrong'), basic('nobody', 'board-password-4c1d9e'), undefined]) {
      calls.length = 0;
      await run(middleware, header);
      expect(calls).toEqual([
        { a: 32, b: 32 },
        { a: 32, b: 32 },
      ]);
    }
  });
});
