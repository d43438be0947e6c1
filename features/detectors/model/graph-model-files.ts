import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Codes, GridwatchError } from '../../../core/errors.js';

/** The command that fetches model files; named in every GW_MODEL_LOAD about a missing file. */
export const FETCH_MODELS_COMMAND = 'bash scripts/fetch-models.sh (run by bash scripts/setup.sh)';

interface ModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
  modelTopology: unknown;
  signature?: unknown;
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
}

/**
 * Loads a TF.js graph model from model.json and its shards through a file-reading IO handler:
 * no fetch, no network, so nothing downloads at run time. Errors name the file by its last two
 * path parts (no absolute path) and the setup command.
 */
export async function loadGraphModelFromFiles(modelJsonPath: string): Promise<tf.GraphModel> {
  const dir = dirname(modelJsonPath);
  const shown = join(basename(dir), basename(modelJsonPath));
  if (!existsSync(modelJsonPath))
    throw new GridwatchError(
      Codes.GW_MODEL_LOAD,
      `model file ${shown} not found; fetch the model files with ${FETCH_MODELS_COMMAND}`,
    );
  let json: ModelJson;
  try {
    json = JSON.parse(await readFile(modelJsonPath, 'utf8')) as ModelJson;
  } catch (err) {
    throw new GridwatchError(
      Codes.GW_MODEL_LOAD,
      `model file ${shown} does not parse (${err instanceof Error ? err.message : String(err)}); fetch it again with ${FETCH_MODELS_COMMAND}`,
    );
  }
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) {
      const f = join(dir, p);
      if (!existsSync(f))
        throw new GridwatchError(
          Codes.GW_MODEL_LOAD,
          `weight shard ${join(basename(dir), p)} of ${shown} not found; fetch the model files with ${FETCH_MODELS_COMMAND}`,
        );
      buffers.push(await readFile(f));
    }
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  const handler: tf.io.IOHandler = {
    load: () =>
      Promise.resolve({
        modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
        weightSpecs: specs,
        weightData,
        ...(json.format === undefined ? {} : { format: json.format }),
        ...(json.generatedBy === undefined ? {} : { generatedBy: json.generatedBy }),
        ...(json.convertedBy === undefined ? {} : { convertedBy: json.convertedBy }),
        ...(json.signature === undefined ? {} : { signature: json.signature as object }),
      }),
  };
  try {
    return await tf.loadGraphModel(handler);
  } catch (err) {
    throw new GridwatchError(
      Codes.GW_MODEL_LOAD,
      `model ${shown} did not load (${err instanceof Error ? err.message : String(err)}); fetch it again with ${FETCH_MODELS_COMMAND}`,
    );
  }
}
