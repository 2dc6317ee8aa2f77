/**
 * The README's provider table, rendered from the catalog. A test keeps the README's copy (between
 * `<!-- providers:begin -->` and `<!-- providers:end -->`) equal to it.
 */
import { credentialVariable } from '@genqueue/model';
import { type CatalogDescriptor, PROVIDER_CATALOG } from './catalog.ts';

const code = (text: string | number) => `\`${text}\``;

/** One Markdown table row per provider: variables, defaults, capabilities and operations. */
export function renderProviderTable(catalog: readonly CatalogDescriptor[] = PROVIDER_CATALOG): string {
  const rows = catalog.map((d) => {
    const credentials = Object.keys(d.credentials.shape).map((f) => code(credentialVariable(d.envPrefix, f)));
    const capabilities = [
      d.capabilities.synchronous ? 'synchronous' : 'polled',
      ...(d.capabilities.cancelable ? ['cancelable'] : []),
      ...(d.capabilities.needsUpload ? ['uploads inputs'] : []),
    ];
    const { baseUrl, limits, timeoutMs } = d.defaults;
    const options = Object.entries(d.options.parse({}) as Record<string, unknown>).map(
      ([field, value]) => `${code(credentialVariable(d.envPrefix, field))} (default ${code(String(value))})`,
    );
    return [
      `${code(d.name)}: ${d.description}`,
      credentials.join(', '),
      options.join(', '),
      `${code(baseUrl)}; ${limits.submitQps}/s, ${limits.maxInFlight} in flight; ${timeoutMs} ms`,
      capabilities.join(', '),
      Object.keys(d.operations).map(code).join(', '),
    ];
  });
  return [
    '| provider | credentials (workers only) | own options | defaults: `_BASE_URL`; `_SUBMIT_QPS`, `_MAX_IN_FLIGHT`; `_TIMEOUT_MS` | pipeline | operations |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((cells) => `| ${cells.join(' | ')} |`),
  ].join('\n');
}
