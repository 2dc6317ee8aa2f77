/**
 * What the demo asks of each provider: an operation, batch defaults, and the environment that
 * points genqueue at the provider's simulator mode when no real credentials are set.
 */
import { renderPng, type Simulator, type SimulatorMode } from '@genqueue/simulator';

export interface DemoProvider {
  operation: string;
  defaults: Record<string, unknown>;
  /** The variables whose presence means "use the real provider". */
  credentialVars: string[];
  /** Environment that points genqueue at a running simulator in this provider's mode. */
  simulatorEnv(sim: Simulator): Record<string, string>;
}

// A small input image for the image-editing models, sent inline as a data URL.
const inputImage = `data:image/png;base64,${renderPng('demo-input', 32, 32).toString('base64')}`;

export const DEMO_PROVIDERS: Record<SimulatorMode, DemoProvider> = {
  liblib: {
    operation: 'kontext.text2img',
    defaults: { aspectRatio: '3:4', imgCount: 1, model: 'pro' },
    credentialVars: ['LIBLIB_ACCESS_KEY', 'LIBLIB_SECRET_KEY'],
    simulatorEnv: (sim) => ({
      LIBLIB_BASE_URL: sim.url,
      LIBLIB_ACCESS_KEY: sim.options.accessKey,
      LIBLIB_SECRET_KEY: sim.options.secretKey,
    }),
  },
  'liblib-v1': {
    operation: 'text2img',
    defaults: { model_id: 'demo-kontext-model', width: 768, height: 1024 },
    credentialVars: ['LIBLIB_V1_API_KEY'],
    simulatorEnv: (sim) => ({ LIBLIB_V1_BASE_URL: sim.url, LIBLIB_V1_API_KEY: sim.options.token }),
  },
  replicate: {
    operation: 'black-forest-labs/flux-kontext-dev',
    defaults: { input_image: inputImage, aspect_ratio: 'match_input_image', output_format: 'png' },
    credentialVars: ['REPLICATE_API_TOKEN'],
    simulatorEnv: (sim) => ({ REPLICATE_BASE_URL: sim.url, REPLICATE_API_TOKEN: sim.options.token }),
  },
  modelverse: {
    operation: 'black-forest-labs/flux.1-dev',
    defaults: { size: '1024x1024', response_format: 'url' },
    credentialVars: ['MODELVERSE_API_KEY'],
    simulatorEnv: (sim) => ({ MODELVERSE_BASE_URL: sim.url, MODELVERSE_API_KEY: sim.options.token }),
  },
};

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
