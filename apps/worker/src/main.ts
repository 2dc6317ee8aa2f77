/** `npm run worker`: one worker process. Start it any number of times, on any number of machines. */
import { ConfigError, loadConfig } from '@genqueue/config';
import { startWorker } from './worker.ts';

try {
  const config = loadConfig();
  const handle = await startWorker(config);
  const stop = async () => {
    await handle.close();
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
