import type { CameraConfig } from './camera-schema.js';

/** A camera entry that passed validation, with where it came from. Produced by the config store. */
export interface LoadedCamera extends CameraConfig {
  /** Camera file it was read from, and the line of its entry (for messages). */
  file: string;
  line: number;
  /** Directory relative paths in the entry (file sources, secrets files) resolve against. */
  baseDir: string;
  /** Location converted to WGS84 (gcoord), whatever crs the file used. */
  wgs84: { lon: number; lat: number };
}
