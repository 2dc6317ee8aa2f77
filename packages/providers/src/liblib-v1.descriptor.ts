/**
 * liblib-v1: LiblibAI's Bearer-token custom-model / Kontext API (000, 001). Polled
 * (`GET /v1/tasks/{task_id}`, 000 §4.1.5), no cancel, images go inline (URL or base64).
 */
import { defineProvider } from '@genqueue/model';
import { z } from 'zod';
import { createLiblibV1Provider, liblibV1Operations } from './liblib-v1.ts';

export const liblibV1 = defineProvider({
  name: 'liblib-v1',
  envPrefix: 'LIBLIB_V1',
  description: 'LiblibAI Bearer-token API for custom (e.g. Kontext-based) models',
  credentials: z.object({
    /** Sent as `Authorization: Bearer …` (000 §4.1.3). */
    apiKey: z.string().min(1),
  }),
  options: z.object({}),
  defaults: {
    baseUrl: 'https://api.liblib.art',
    limits: { submitQps: 1, maxInFlight: 5 },
    timeoutMs: 30_000,
  },
  capabilities: { synchronous: false, cancelable: false, needsUpload: false },
  operations: liblibV1Operations,
  example: {
    operation: 'text2img',
    input: {
      prompt: 'a lighthouse on a cliff at dusk, oil painting',
      model_id: 'demo-kontext-model',
      width: 768,
      height: 1024,
    },
  },
  createAdapter: (account, io) =>
    createLiblibV1Provider({
      baseUrl: account.baseUrl,
      apiKey: account.credentials.apiKey,
      timeouts: { requestMs: account.timeoutMs },
      ...io,
    }),
});
