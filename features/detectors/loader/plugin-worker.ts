import { parentPort } from 'node:worker_threads';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { z } from 'zod';
import type { DetectorPlugin, Rule } from '../plugin-api/contract.js';
import type { HostMessage, PluginReply } from './plugin-protocol.js';
import { zodIssuesText } from '../../../core/config/zod-issues.js';

/**
 * One plugin's sandbox thread. Rule calls run here so a call that never returns (even a
 * synchronous infinite loop) can be cut off by terminating this thread, and a plugin that
 * crashes takes only its own thread down.
 */
const port = parentPort;
if (!port) throw new Error('plugin-worker must run in a worker thread');
const send = (m: PluginReply) => port.postMessage(m);

let plugin: DetectorPlugin | null = null;
let logger: Logger | null = null;
const rules = new Map<number, Rule>();

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

async function handle(msg: HostMessage): Promise<void> {
  if (msg.type === 'load') {
    try {
      // Log lines go to the main thread, which writes them through the gateway's logger.
      const sink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          send({ type: 'log', line: chunk.toString('utf8') });
          cb();
        },
      });
      logger = pino({ level: msg.logLevel, base: { plugin: msg.name } }, sink);
      const mod = (await import(msg.entryUrl)) as { default?: DetectorPlugin };
      const p = mod.default;
      if (!p || typeof p !== 'object')
        throw new Error('the entry module has no default export (expected definePlugin({...}))');
      if (p.createRule !== undefined && typeof p.createRule !== 'function')
        throw new Error('createRule is not a function');
      if (p.createModel !== undefined && typeof p.createModel !== 'function')
        throw new Error('createModel is not a function');
      plugin = p;
      let optionsJsonSchema: Record<string, unknown> | null = null;
      if (p.optionsSchema) {
        try {
          // Refinements and transforms become "any": the worker checks them at create time.
          optionsJsonSchema = z.toJSONSchema(p.optionsSchema, { io: 'input', unrepresentable: 'any' });
        } catch (err) {
          logger.warn(
            { err },
            'options schema cannot be expressed as JSON Schema; camera files are checked when rules start',
          );
        }
      }
      send({
        type: 'loaded',
        hasRule: typeof p.createRule === 'function',
        hasModel: typeof p.createModel === 'function',
        optionsJsonSchema,
      });
    } catch (err) {
      send({ type: 'loadError', message: errText(err) });
    }
    return;
  }
  try {
    if (!plugin || !logger) throw new Error('plugin not loaded');
    if (msg.type === 'create') {
      if (!plugin.createRule) throw new Error('plugin has no createRule');
      let options: unknown = msg.options;
      if (plugin.optionsSchema) {
        const r = plugin.optionsSchema.safeParse(msg.options);
        if (!r.success) {
          // The camera's fault, not the plugin's: reported for that camera only.
          const text = zodIssuesText(r.error, ['options']);
          send({ type: 'callError', call: msg.call, message: text, options: true });
          return;
        }
        options = r.data;
      }
      rules.set(
        msg.instance,
        plugin.createRule({
          cameraId: msg.cameraId,
          options,
          logger: logger.child({ cameraId: msg.cameraId }),
        }),
      );
      send({ type: 'ok', call: msg.call });
    } else if (msg.type === 'evaluate') {
      const rule = rules.get(msg.instance);
      if (!rule) throw new Error(`no rule instance ${msg.instance}`);
      const emissions = await rule.evaluate(msg.input);
      if (!Array.isArray(emissions)) throw new Error('evaluate did not return an array');
      send({ type: 'ok', call: msg.call, emissions });
    } else {
      const rule = rules.get(msg.instance);
      rules.delete(msg.instance);
      await rule?.close?.();
      send({ type: 'ok', call: msg.call });
    }
  } catch (err) {
    send({ type: 'callError', call: msg.call, message: errText(err) });
  }
}

port.on('message', (msg: HostMessage) => {
  void handle(msg);
});
