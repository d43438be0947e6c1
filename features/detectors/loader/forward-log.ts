import type { Logger } from 'pino';

/**
 * Writes pino lines that a worker thread serialised (plugin sandboxes, inference workers)
 * through the main thread's logger, one child per source, so worker logs get the gateway's
 * level, transport and redaction.
 */
export function createLogForwarder(log: Logger, key: string): (source: string, line: string) => void {
  const children = new Map<string, Logger>();
  return (source, line) => {
    let child = children.get(source);
    if (!child) {
      child = log.child({ [key]: source });
      children.set(source, child);
    }
    try {
      const {
        level,
        msg,
        time: _t,
        pid: _p,
        hostname: _h,
        plugin: _n,
        ...rest
      } = JSON.parse(line) as Record<string, unknown> & { level: number; msg?: string };
      const fn = level >= 50 ? 'error' : level >= 40 ? 'warn' : level >= 30 ? 'info' : 'debug';
      child[fn](rest, typeof msg === 'string' ? msg : '');
    } catch (err) {
      child.warn({ err, line: line.slice(0, 500) }, 'unparseable log line from a worker thread');
    }
  };
}
