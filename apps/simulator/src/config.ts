/**
 * Standalone configuration: flags win over environment variables, which win over defaults.
 *
 * | flag | env | meaning |
 * | --- | --- | --- |
 * | `--host` | `SIM_HOST` | listen address (default 127.0.0.1) |
 * | `--port` | `SIM_PORT` | port (default 8787; 0 = random) |
 * | `--mode` | `SIM_MODE` | provider wire format, one per catalog provider (`modes/<name>.mode.ts`; default liblib) |
 * | `--access-key` / `--secret-key` | `SIM_ACCESS_KEY` / `SIM_SECRET_KEY` | LiblibAI keys |
 * | `--token` | `SIM_TOKEN` | bearer token of the other modes |
 * | `--qps` | `SIM_SUBMIT_QPS` | submissions per second |
 * | `--in-flight` | `SIM_MAX_IN_FLIGHT` | tasks in progress |
 * | `--latency` | `SIM_LATENCY_MS` | generation time `min-max` or `ms`, in ms |
 * | `--failure-rate` | `SIM_FAILURE_RATE` | share of failed tasks |
 * | `--review-block-rate` | `SIM_REVIEW_BLOCK_RATE` | share of review-blocked tasks |
 * | `--timeout-rate` | `SIM_TIMEOUT_RATE` | share of timed-out tasks |
 * | `--pad-bytes` | `SIM_OUTPUT_PAD_BYTES` | extra bytes per PNG |
 * | `--seed` | `SIM_SEED` | randomness seed |
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { modes } from './modes/registry.ts';
import type { SimulatorMode, SimulatorOptions } from './types.ts';

const FLAGS = {
  host: 'SIM_HOST',
  port: 'SIM_PORT',
  mode: 'SIM_MODE',
  'access-key': 'SIM_ACCESS_KEY',
  'secret-key': 'SIM_SECRET_KEY',
  token: 'SIM_TOKEN',
  qps: 'SIM_SUBMIT_QPS',
  'in-flight': 'SIM_MAX_IN_FLIGHT',
  latency: 'SIM_LATENCY_MS',
  'failure-rate': 'SIM_FAILURE_RATE',
  'review-block-rate': 'SIM_REVIEW_BLOCK_RATE',
  'timeout-rate': 'SIM_TIMEOUT_RATE',
  'pad-bytes': 'SIM_OUTPUT_PAD_BYTES',
  seed: 'SIM_SEED',
} as const;

const num = z.coerce.number().finite();
const schema = z.object({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65535).default(8787),
  mode: z.enum(Object.keys(modes) as [SimulatorMode, ...SimulatorMode[]]).default('liblib'),
  'access-key': z.string().min(1).optional(),
  'secret-key': z.string().min(1).optional(),
  token: z.string().min(1).optional(),
  qps: num.positive().optional(),
  'in-flight': num.int().min(0).optional(),
  latency: z
    .string()
    .regex(/^\d+(-\d+)?$/, 'expected <ms> or <min>-<max>')
    .transform((v) => {
      const [min, max = min] = v.split('-').map(Number) as [number, number?];
      return { min, max: Math.max(min, max) };
    })
    .optional(),
  'failure-rate': num.min(0).max(1).optional(),
  'review-block-rate': num.min(0).max(1).optional(),
  'timeout-rate': num.min(0).max(1).optional(),
  'pad-bytes': num.int().min(0).optional(),
  seed: num.int().optional(),
});

/** Parses flags and environment into simulator options; throws one error listing every bad value. */
export function loadSimulatorConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): SimulatorOptions {
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(Object.keys(FLAGS).map((k) => [k, { type: 'string' as const }])),
    strict: true,
  });
  const merged: Record<string, string | undefined> = {};
  for (const [flag, envName] of Object.entries(FLAGS)) {
    const value = (values as Record<string, string | undefined>)[flag] ?? env[envName];
    if (value !== undefined && value !== '') merged[flag] = value;
  }
  const parsed = schema.safeParse(merged);
  if (!parsed.success) {
    const list = parsed.error.issues.map(
      (i) => `--${i.path.join('.')} / ${FLAGS[i.path[0] as keyof typeof FLAGS]}: ${i.message}`,
    );
    throw new Error(`invalid simulator configuration:\n  ${list.join('\n  ')}`);
  }
  const c = parsed.data;
  const options: SimulatorOptions = { host: c.host, port: c.port, mode: c.mode };
  if (c['access-key']) options.accessKey = c['access-key'];
  if (c['secret-key']) options.secretKey = c['secret-key'];
  if (c.token) options.token = c.token;
  if (c.qps !== undefined) options.submitQps = c.qps;
  if (c['in-flight'] !== undefined) options.maxInFlight = c['in-flight'];
  if (c.latency) options.latencyMs = c.latency;
  if (c['failure-rate'] !== undefined) options.failureRate = c['failure-rate'];
  if (c['review-block-rate'] !== undefined) options.reviewBlockRate = c['review-block-rate'];
  if (c['timeout-rate'] !== undefined) options.timeoutRate = c['timeout-rate'];
  if (c['pad-bytes'] !== undefined) options.outputPadBytes = c['pad-bytes'];
  if (c.seed !== undefined) options.seed = c.seed;
  return options;
}
