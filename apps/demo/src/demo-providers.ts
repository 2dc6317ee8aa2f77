/**
 * What the demo asks of each provider, derived from its descriptor: the descriptor's example
 * operation and input (the prompt replaced by the demo's), and the environment that points genqueue
 * at the provider's simulator mode when no real credentials are set.
 */
import { credentialVariable } from '@genqueue/core';
import { PROVIDER_CATALOG, type ProviderName } from '@genqueue/providers';
import type { Simulator } from '@genqueue/simulator';

export interface DemoProvider {
  operation: string;
  defaults: Record<string, unknown>;
  /** The variables whose presence means "use the real provider". */
  credentialVars: string[];
  /** Environment that points genqueue at a running simulator in this provider's mode. */
  simulatorEnv(sim: Simulator): Record<string, string>;
}

export const DEMO_PROVIDERS = Object.fromEntries(
  PROVIDER_CATALOG.map((descriptor) => {
    const { prompt: _prompt, ...defaults } = descriptor.example.input;
    const variable = (field: string) => credentialVariable(descriptor.envPrefix, field);
    const demo: DemoProvider = {
      operation: descriptor.example.operation,
      defaults,
      credentialVars: Object.keys(descriptor.credentials.shape).map(variable),
      simulatorEnv: (sim) => ({
        [`${descriptor.envPrefix}_BASE_URL`]: sim.url,
        // The simulator serves results from its own (loopback) address: the sink may fetch there.
        SINK_ALLOWED_HOSTS: new URL(sim.url).hostname,
        ...Object.fromEntries(
          Object.entries(sim.credentials).map(([field, value]) => [variable(field), value]),
        ),
      }),
    };
    return [descriptor.name, demo];
  }),
) as Record<ProviderName, DemoProvider>;

export const DEMO_PROMPTS = [
  'a lighthouse on a cliff at dusk, oil painting',
  'a red fox in fresh snow, morning light',
  'a tea house in a bamboo forest, watercolor',
  'a vintage tram climbing a narrow street',
  'a paper boat on a rainy window sill, macro photo',
  'a hot air balloon over lavender fields',
  'an astronaut reading in a hammock on the moon',
  'a koi pond seen from above, ink wash',
];
