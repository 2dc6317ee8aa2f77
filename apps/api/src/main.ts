/**
 * The API process: `npm run api` (`tsx apps/api/src/main.ts`). Parses the configuration once,
 * starts the API and shuts it down gracefully on SIGTERM/SIGINT.
 */
import { pathToFileURL } from 'node:url';
import { ConfigError, loadConfig } from '@genqueue/config';
import { startApi } from './start.ts';

export { startApi } from './start.ts';

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const api = await startApi(config);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`genqueue api: ${signal} received, shutting down\n`);
    // A second safety net: exit even if something refuses to close.
    setTimeout(() => process.exit(1), config.worker.shutdownGraceMs + 5_000).unref();
    api.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

// Only when run as the entry point, so `import { startApi } from './main.ts'` starts nothing.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`genqueue api: failed to start: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
