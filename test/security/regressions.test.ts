/**
 * The fuzzer's finds, pinned as plain cases so they stay fixed whatever seed the fuzzer runs with:
 * - CSV headers and `set.<field>` parameters named like Object.prototype members (`constructor`,
 *   `toString`, `__proto__`) were looked up on a plain object and answered 500;
 * - requests node's HTTP parser refuses got a bare 400/431 without a JSON body (limits-headers).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack, TEST_TOKEN } from '../support/stack.ts';
import { closeAgent, send } from './support/http.ts';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ workers: 0 });
});

afterAll(async () => {
  closeAgent();
  await stack?.close();
});

const upload = (query: string, type: string, body: string) =>
  send(stack.api.url, {
    method: 'POST',
    path: `/v1/batches?operation=kontext.text2img${query}`,
    headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': type },
    body,
  });

describe('field names that are Object.prototype members', () => {
  for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
    it(`a CSV column "${name}" is an input field like any other: 400 for the missing prompt, or 202`, async () => {
      const alone = await upload('', 'text/csv', `${name}\nx\n`);
      expect(alone.status, alone.text).toBe(400);
      expect(alone.text).toContain('prompt');
      const withPrompt = await upload('&skipInvalid=true', 'text/csv', `prompt,${name}\na cat,1\n`);
      expect(withPrompt.status, withPrompt.text).toBeLessThan(500);
    });

    it(`set.${name}=… is a default like any other`, async () => {
      const res = await upload(`&set.${encodeURIComponent(name)}=1`, 'text/csv', 'prompt\na cat\n');
      expect(res.status, res.text).toBeLessThan(500);
      expect(res.status, res.text).not.toBe(401);
    });
  }
});
