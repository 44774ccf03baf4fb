// Structured JSON logs (pino); the key-scoped child is how every line of a reconcile names its object.
import { pino, type DestinationStream, type Logger } from 'pino';
import { splitKey } from './keys.ts';

export type { Logger };

/** Log levels accepted by configuration. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** One of LOG_LEVELS. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Creates the operator's root logger: JSON lines to stdout, or to destination (tests capture it). */
export function createLogger(opts: { level?: LogLevel; destination?: DestinationStream } = {}): Logger {
  const options = {
    level: opts.level ?? 'info',
    base: { component: 'siskin-operator' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Errors logged as { err } keep their stack and message as fields, not as "[object Object]".
    serializers: { err: pino.stdSerializers.err },
  };
  // Synchronous stdout by default: the last lines before a fatal exit must not be lost.
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** A child logger for one reconcile: every line carries key, namespace and name. */
export function loggerForKey(log: Logger, key: string): Logger {
  const { namespace, name } = splitKey(key);
  return log.child(namespace ? { key, namespace, name } : { key, name });
}
