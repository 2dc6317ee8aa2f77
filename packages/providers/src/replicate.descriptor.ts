/**
 * replicate: Replicate's predictions API or a Replicate-compatible proxy (003). Polled
 * (`GET /v1/predictions/{id}`), cancelable (`POST /v1/predictions/{id}/cancel`), images go as data
 * URLs.
 */
import { defineProvider } from '@genqueue/model';
import { z } from 'zod';
import {
  createReplicateProvider,
  REPLICATE_DEFAULT_BASE_URL,
  REPLICATE_DEFAULT_SUBMIT_TIMEOUT_MS,
  replicateOperations,
} from './replicate.ts';

/** An 8×8 PNG, small enough to send inline. */
const EXAMPLE_IMAGE =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAY0lEQVR4nGPgEluf93Pa1rUv3iYqVuifVnjj0HOU+da/OwyCamslzFbLu69SD1+hl77MtHyJTcdi5xkLGbCKeq2Yz4BVNHDHXAasopEnZjNgFU24OYsBq2j6yxkMWEXzfk4DABHhXgB9I+JjAAAAAElFTkSuQmCC';

export const replicate = defineProvider({
  name: 'replicate',
  envPrefix: 'REPLICATE',
  description: 'Replicate predictions API, or a Replicate-compatible proxy (base URL ending in /replicate)',
  credentials: z.object({
    /** Sent as `Authorization: Bearer …`. */
    apiToken: z.string().min(1),
  }),
  options: z.object({
    /**
     * `REPLICATE_SUBMIT_TIMEOUT_MS`: deadline of one submission, in ms. Default 300 000 (5 min):
     * spec 003's proxy answers only when the generation has ended. A submission that runs out of
     * it fails its job (it may have created a paid prediction) instead of being sent again.
     */
    submitTimeoutMs: z.coerce
      .number()
      .int('must be an integer')
      .min(1_000, 'must be at least 1000')
      .max(3_600_000, 'must be at most 3600000')
      .default(REPLICATE_DEFAULT_SUBMIT_TIMEOUT_MS),
    /**
     * `REPLICATE_PREFER_WAIT`: seconds a submission asks Replicate to hold its answer
     * (`Prefer: wait=N`, 1 to 60) so that a fast prediction answers with its outputs and is never
     * polled. Default 0: no header, answer at once, then poll.
     */
    preferWait: z.coerce
      .number()
      .int('must be an integer')
      .min(0, 'must be from 0 to 60')
      .max(60, 'must be from 0 to 60')
      .default(0),
  }),
  defaults: {
    baseUrl: REPLICATE_DEFAULT_BASE_URL,
    limits: { submitQps: 5, maxInFlight: 10 },
    // A status or cancel call; a call that asks the server to wait (`Prefer: wait`) gets that wait
    // on top, and a submission has its own deadline (`submitTimeoutMs`).
    timeoutMs: 30_000,
  },
  capabilities: { synchronous: false, cancelable: true, needsUpload: false },
  operations: replicateOperations,
  example: {
    operation: 'black-forest-labs/flux-kontext-dev',
    input: {
      prompt: 'make it a watercolor',
      input_image: EXAMPLE_IMAGE,
      aspect_ratio: 'match_input_image',
      output_format: 'png',
    },
  },
  createAdapter: (account, io) =>
    createReplicateProvider({
      baseUrl: account.baseUrl,
      apiToken: account.credentials.apiToken,
      submitTimeoutMs: account.options.submitTimeoutMs,
      preferWait: account.options.preferWait || undefined,
      timeouts: { requestMs: account.timeoutMs },
      ...io,
    }),
});
