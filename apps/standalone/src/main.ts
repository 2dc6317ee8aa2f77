/**
 * `npm start`: the API and one worker in one process, for a single machine. The worker part is
 * the same as `npm run worker`; more worker processes can join it at any time.
 */
import { startApi } from '@genqueue/api';
import { ConfigError, loadConfig } from '@genqueue/config';
import { startWorker } from '@genqueue/worker';

try {
  const config = loadConfig();
  const worker = await startWorker(config);
  const api = await startApi(config);
  console.error(
    `genqueue listening on ${api.url} (API, Bull Board at /admin/queues) with a worker in the same process`,
  );
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await api.close();
    await worker.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
