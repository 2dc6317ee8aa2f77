/**
 * liblib: LiblibAI's signed OpenAPI (002). Polled (submit answers a `generateUuid`, then the status
 * endpoint is queried), no cancel endpoint, uploads inline image inputs itself to the
 * vendor's OSS. Limits: 1 submission per second and 5 tasks in progress per account (002 §2.3).
 */

import { DEFAULT_LIBLIB_BASE_URL } from '@genqueue/liblib';
import { defineProvider } from '@genqueue/model';
import { z } from 'zod';
import { createLiblibProvider, liblibOperations } from './liblib.ts';

export const liblib = defineProvider({
  name: 'liblib',
  envPrefix: 'LIBLIB',
  description: 'LiblibAI OpenAPI, signed with an AccessKey/SecretKey pair',
  credentials: z.object({
    /** 002 §2.4: sent in every query string. */
    accessKey: z.string().min(1),
    /** 002 §2.4: signs each request; never sent. */
    secretKey: z.string().min(1),
  }),
  options: z.object({}),
  defaults: { baseUrl: DEFAULT_LIBLIB_BASE_URL, limits: { submitQps: 1, maxInFlight: 5 }, timeoutMs: 30_000 },
  capabilities: { synchronous: false, cancelable: false, needsUpload: true },
  operations: liblibOperations,
  example: {
    operation: 'kontext.text2img',
    input: {
      prompt: 'a lighthouse on a cliff at dusk, oil painting',
      aspectRatio: '3:4',
      imgCount: 1,
      model: 'pro',
    },
  },
  createAdapter: (account, io) =>
    createLiblibProvider({
      baseUrl: account.baseUrl,
      accessKey: account.credentials.accessKey,
      secretKey: account.credentials.secretKey,
      // A hung call must end as a transient error well before a job's lock or a batch deadline
      // would notice it.
      timeouts: { requestMs: account.timeoutMs },
      ...io,
    }),
});
