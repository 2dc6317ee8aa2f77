import { describe, expect, it } from 'vitest';
import { loadSimulatorConfig } from './config.ts';

describe('loadSimulatorConfig', () => {
  it('reads flags over environment variables', () => {
    const options = loadSimulatorConfig(['--port', '0', '--latency', '50-80', '--qps', '2'], {
      SIM_PORT: '9999',
      SIM_MAX_IN_FLIGHT: '3',
      SIM_SECRET_KEY: 'from-env',
    });
    expect(options).toMatchObject({
      port: 0,
      submitQps: 2,
      maxInFlight: 3,
      secretKey: 'from-env',
      latencyMs: { min: 50, max: 80 },
      mode: 'liblib',
    });
  });

  it('lists every bad value in one error', () => {
    expect(() => loadSimulatorConfig(['--qps', 'fast'], { SIM_FAILURE_RATE: '2' })).toThrow(
      /--qps[\s\S]*--failure-rate/,
    );
  });
});
