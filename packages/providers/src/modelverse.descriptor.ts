/**
 * modelverse: the OpenAI-compatible `POST /v1/images/generations` (004). Synchronous: the answer
 * comes when the images are done, so the request lasts as long as the generation (hence the long
 * default timeout). No cancel; images go inline.
 */
import { defineProvider } from '@genqueue/model';
import { z } from 'zod';
import { createModelverseProvider, modelverseOperations } from './modelverse.ts';

export const modelverse = defineProvider({
  name: 'modelverse',
  envPrefix: 'MODELVERSE',
  description: 'Modelverse OpenAI-compatible image generation (FLUX.1, FLUX.1 Kontext, Step1X-Edit)',
  credentials: z.object({
    /** 004: sent as `Authorization: Bearer …`. */
    apiKey: z.string().min(1),
  }),
  options: z.object({}),
  defaults: {
    baseUrl: 'https://api.modelverse.cn',
    limits: { submitQps: 2, maxInFlight: 5 },
    timeoutMs: 300_000,
  },
  capabilities: { synchronous: true, cancelable: false, needsUpload: false },
  operations: modelverseOperations,
  example: {
    operation: 'black-forest-labs/flux.1-dev',
    input: {
      prompt: 'a lighthouse on a cliff at dusk, oil painting',
      size: '1024x1024',
      response_format: 'url',
    },
  },
  createAdapter: (account, io) =>
    createModelverseProvider({
      baseUrl: account.baseUrl,
      apiKey: account.credentials.apiKey,
      timeouts: { requestMs: account.timeoutMs },
      ...io,
    }),
});
