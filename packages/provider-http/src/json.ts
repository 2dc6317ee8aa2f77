/** Small readers of provider answers, shared by the adapters. */
import type { HttpAnswer } from './http-client.ts';

/** Reads one header as a string (the first value when repeated). */
export function header(headers: HttpAnswer['headers'], name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** Shortens a provider message for errors and job views; providers sometimes echo whole inputs. */
export function clip(message: string, max = 500): string {
  return message.length > max ? `${message.slice(0, max)}…` : message;
}

/** Narrows an unknown JSON value to an object. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
