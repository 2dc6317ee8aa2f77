/**
 * Entry point of the `genqueue` command (`apps/cli/bin/genqueue.js` loads it through tsx): runs
 * the program on this process's arguments, streams and environment.
 */
import { runCli } from './program.ts';

process.exitCode = await runCli(process.argv, {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
