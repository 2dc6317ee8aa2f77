/**
 * Every provider of the product, one line each. Configuration, the adapter table, the API's
 * validation and operations listing, the simulator's modes and the demo all derive from this list
 * (see `catalog.ts`); a provider missing here exists nowhere.
 */
export { liblib } from './liblib.descriptor.ts';
export { liblibV1 } from './liblib-v1.descriptor.ts';
export { modelverse } from './modelverse.descriptor.ts';
export { replicate } from './replicate.descriptor.ts';
