import type { RuleEmission, RuleInput } from '../plugin-api/contract.js';

/** Main thread → plugin worker. */
export type HostMessage =
  | { type: 'load'; entryUrl: string; name: string; logLevel: string }
  | { type: 'create'; call: number; instance: number; cameraId: string; options: unknown }
  | { type: 'evaluate'; call: number; instance: number; input: RuleInput }
  | { type: 'dispose'; call: number; instance: number };

/** Plugin worker → main thread. */
export type PluginReply =
  | { type: 'loaded'; hasRule: boolean; hasModel: boolean }
  | { type: 'loadError'; message: string }
  | { type: 'ok'; call: number; emissions?: RuleEmission[] }
  | { type: 'callError'; call: number; message: string; options?: boolean }
  | { type: 'log'; line: string };
