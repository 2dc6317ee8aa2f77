/**
 * Standalone simulator: `npm run sim -- --port 8787 --latency 1000-3000`. Prints its URL and the
 * keys clients must use; stops on SIGINT/SIGTERM. See `config.ts` for every flag and variable.
 */
import { loadSimulatorConfig } from './config.ts';
import { startSimulator } from './simulator.ts';

const sim = await startSimulator(loadSimulatorConfig(process.argv.slice(2)));
const o = sim.options;
const lines = [
  `genqueue simulator (${o.mode}) listening on ${sim.url}`,
  o.mode === 'liblib' ? `  LIBLIB_ACCESS_KEY=${o.accessKey}` : `  token=${o.token}`,
  ...(o.mode === 'liblib' ? [`  LIBLIB_SECRET_KEY=${o.secretKey}`] : []),
  `  limits: ${o.submitQps} submission/s, ${o.maxInFlight} in flight; latency ${o.latencyMs.min}-${o.latencyMs.max} ms`,
  `  control: ${sim.url}/__sim/stats | /__sim/tasks | POST /__sim/config | POST /__sim/faults | POST /__sim/reset`,
];
// Test keys only: the simulator's keys are not secrets, and printing them is the point.
process.stdout.write(`${lines.join('\n')}\n`);

let closing = false;
const stop = () => {
  if (closing) return;
  closing = true;
  sim.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
