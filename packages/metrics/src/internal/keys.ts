/**
 * Redis layout of the remote metrics, shared by the recorder and the collector. Two hashes per
 * deployment (label sets are few and bounded: providers × outcomes × endpoints):
 * - `{name:metrics}:counters`: field = series, value = total (HINCRBYFLOAT);
 * - `{name:metrics}:histograms`: field = series + `\u0000` + bucket upper bound (`le`), `sum`
 *   or `count`; bucket fields hold per-bucket (not cumulative) counts, so one observation is one
 *   increment; the collector sums them up into Prometheus' cumulative buckets.
 *
 * A series field is `name` + JSON of its labels in label-name order, so the collector can read the
 * labels back without a schema lookup, and any label value is safe.
 */
import { redisKeyLayout } from '@genqueue/core';
import type { Labels } from '../catalog.ts';

/**
 * The two hashes of the deployment whose `QUEUE_PREFIX` is `prefix`, under one hash tag of their
 * own (`{name:metrics}`, see `redisKeyLayout`): a flush writes both in one pipeline, which a
 * Cluster sends to one node.
 */
export function metricKeys(prefix: string): { counters: string; histograms: string } {
  const { metrics } = redisKeyLayout(prefix);
  return {
    counters: `${metrics}:counters`,
    histograms: `${metrics}:histograms`,
  };
}

/** Separates a histogram series from its part (`le`, `sum`, `count`); never in a metric name. */
export const PART_SEPARATOR = '\u0000';

/** The field of a series. */
export function seriesField(name: string, labelNames: readonly string[], labels: Labels): string {
  const values: Record<string, string> = {};
  for (const label of labelNames) values[label] = labels[label] ?? '';
  return `${name}${JSON.stringify(values)}`;
}

/** The inverse of {@link seriesField}; undefined for a field it did not write. */
export function parseSeriesField(
  field: string,
): { name: string; labels: Record<string, string> } | undefined {
  const brace = field.indexOf('{');
  if (brace <= 0) return undefined;
  try {
    const labels = JSON.parse(field.slice(brace)) as unknown;
    if (!labels || typeof labels !== 'object' || Array.isArray(labels)) return undefined;
    return { name: field.slice(0, brace), labels: labels as Record<string, string> };
  } catch {
    return undefined;
  }
}

/** Prometheus' spelling of a bucket bound. */
export function formatBound(bound: number): string {
  return bound === Number.POSITIVE_INFINITY ? '+Inf' : String(bound);
}
