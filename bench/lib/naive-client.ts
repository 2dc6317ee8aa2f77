/**
 * The baseline: the client spec 001 §3/§5 describes, against the simulator's `liblib-v1` mode:
 * submit (`POST /v1/workflows/run`), then query `GET /v1/tasks/{id}` at once and every `pollMs`
 * until `success` or `failed`, one prompt at a time. The spec's sample gives up on an error; here a
 * refused submission is tried again after `pollMs` (otherwise a pool would simply lose prompts).
 */
import { request } from 'undici';

export interface NaiveOptions {
  baseUrl: string;
  token: string;
  prompts: string[];
  /** Clients working side by side on the same prompt list, each one prompt at a time. */
  clients: number;
  /** The spec's 5 s, scaled like the rest of the scenario. */
  pollMs: number;
}

export interface NaiveResult {
  completed: number;
  failed: number;
  refusedSubmissions: number;
  startedAt: number;
  /** When the last task was seen ended. */
  lastDoneAt: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runNaive(options: NaiveOptions): Promise<NaiveResult> {
  const queue = [...options.prompts];
  const headers = { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' };
  const result: NaiveResult = {
    completed: 0,
    failed: 0,
    refusedSubmissions: 0,
    startedAt: Date.now(),
    lastDoneAt: Date.now(),
  };

  const submit = async (prompt: string): Promise<string> => {
    for (;;) {
      const response = await request(`${options.baseUrl}/v1/workflows/run`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ prompt, model_id: 'kontext-model', n_iter: 1 }),
      });
      const body = (await response.body.json().catch(() => ({}))) as {
        code?: number;
        data?: { task_id?: string };
      };
      if (response.statusCode === 200 && body.code === 0 && body.data?.task_id) return body.data.task_id;
      result.refusedSubmissions++;
      await sleep(options.pollMs);
    }
  };

  const client = async () => {
    for (let prompt = queue.shift(); prompt !== undefined; prompt = queue.shift()) {
      const taskId = await submit(prompt);
      for (;;) {
        const response = await request(`${options.baseUrl}/v1/tasks/${taskId}`, { headers });
        const body = (await response.body.json().catch(() => ({}))) as { data?: { status?: string } };
        const status = body.data?.status;
        if (status === 'success' || status === 'failed') {
          if (status === 'success') result.completed++;
          else result.failed++;
          result.lastDoneAt = Date.now();
          break;
        }
        await sleep(options.pollMs);
      }
    }
  };
  await Promise.all(Array.from({ length: options.clients }, client));
  return result;
}
