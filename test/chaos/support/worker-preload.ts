/**
 * Loaded with `--import` into every chaos worker process: an unhandled rejection or uncaught
 * exception is printed with a marker the suite looks for, and the process exits with a code of
 * its own, so a crash is never mistaken for one of the suite's SIGKILLs.
 */
/** Exit code of a worker that had an unhandled rejection or uncaught exception. */
export const CRASH_EXIT_CODE = 97;

process.on('unhandledRejection', (reason) => {
  process.stderr.write(
    `chaos: unhandledRejection: ${reason instanceof Error ? reason.stack : String(reason)}\n`,
  );
  process.exit(CRASH_EXIT_CODE);
});
process.on('uncaughtException', (error) => {
  process.stderr.write(`chaos: uncaughtException: ${error.stack ?? String(error)}\n`);
  process.exit(CRASH_EXIT_CODE);
});
