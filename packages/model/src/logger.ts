import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths redacted from every log line. Secrets never reach logs:
 * credentials are never logged on purpose, and these paths catch them if an object carrying
 * them is logged by accident.
 */
export const REDACT_PATHS = [
  '*.secretKey',
  '*.secret_key',
  '*.accessKey',
  '*.apiKey',
  '*.api_key',
  '*.token',
  '*.password',
  '*.authorization',
  '*.Authorization',
  '*.signature',
  '*.Signature',
  '*.secretAccessKey',
  '*.accessKeyId',
  '*.webhookSecret',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'config',
];

/** Creates the process logger: pino JSON on stdout, secrets redacted. */
export function createLogger(
  options: { level?: string; name?: string; destination?: NodeJS.WritableStream } = {},
): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      name: options.name,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}

/** A logger that drops everything, for tests that don't look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
