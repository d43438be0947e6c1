import { pino, type Logger, type LoggerOptions } from 'pino';
import { LOG_REDACT_PATHS, redactText } from './util/redact.js';

export type { Logger } from 'pino';

export interface LoggerConfig {
  level?: string;
  /** Pretty output; defaults to true when stdout is a terminal. */
  pretty?: boolean;
  /** Write to this fd/stream destination instead of stdout (tests). */
  destination?: NodeJS.WritableStream;
}

/**
 * The one root logger; components take `logger.child({ component })`.
 * Messages and error stacks pass through redactText so a URL with userinfo that some
 * library put into an error message cannot leak a camera password.
 */
export function createLogger(cfg: LoggerConfig = {}): Logger {
  const pretty = cfg.pretty ?? Boolean(process.stdout.isTTY);
  const opts: LoggerOptions = {
    level: cfg.level ?? process.env.GRIDWATCH_LOG_LEVEL ?? 'info',
    redact: { paths: LOG_REDACT_PATHS, censor: '***' },
    hooks: {
      logMethod(args, method) {
        const redacted = args.map((a) => (typeof a === 'string' ? redactText(a) : a)) as Parameters<
          typeof method
        >;
        method.apply(this, redacted);
      },
    },
    serializers: {
      err: (e: unknown) => {
        const s = pino.stdSerializers.err(e as Error);
        if (s.message) s.message = redactText(s.message);
        if (s.stack) s.stack = redactText(s.stack);
        return s;
      },
    },
  };
  if (cfg.destination) return pino(opts, cfg.destination as pino.DestinationStream);
  if (pretty) {
    return pino({
      ...opts,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss' } },
    });
  }
  return pino(opts);
}
