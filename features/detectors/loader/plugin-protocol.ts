import type { RuleEmission, RuleInput } from '../plugin-api/contract.js';

/** Main thread → plugin worker. */
export type HostMessage =
  | { type: 'load'; entryUrl: string; name: string; logLevel: string }
  | { type: 'create'; call: number; instance: number; cameraId: string; options: unknown }
  | { type: 'evaluate'; call: number; instance: number; input: RuleInput }
  | { type: 'dispose'; call: number; instance: number };

/** Plugin worker → main thread. */
export type PluginReply =
  | {
      type: 'loaded';
      hasRule: boolean;
      hasModel: boolean;
      /**
       * The options schema as JSON Schema (zod's toJSONSchema, input side), so the main thread
       * can check camera files without importing the plugin; null when the plugin has none or
       * it cannot be expressed (the worker still checks options when a rule is created).
       */
      optionsJsonSchema: Record<string, unknown> | null;
    }
  | { type: 'loadError'; message: string }
  | { type: 'ok'; call: number; emissions?: RuleEmission[] }
  | { type: 'callError'; call: number; message: string; options?: boolean }
  | { type: 'log'; line: string };
