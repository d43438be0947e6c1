import type { z } from 'zod';
import type { CameraConfig } from '../../../core/contracts/camera-schema.js';
import type { InputIssue } from '../../../core/errors.js';

export interface KnownPlugins {
  /** Finding type → the options schema its plugin declared (rebuilt from JSON Schema), if any. */
  rules: ReadonlyMap<string, z.ZodType | undefined>;
  /** Model plugin names a camera may pick. */
  models: readonly string[];
}

/**
 * A camera's detectors, zones and model checked against the loaded plugins: unknown rules,
 * options failing the plugin's schema, zones listing a rule the camera does not run, an unknown
 * model. Paths are relative to the camera entry, so the config store can name file and line.
 */
export function validateCameraPlugins(
  cam: CameraConfig & { file?: string; line?: number },
  known: KnownPlugins,
): InputIssue[] {
  const issues: InputIssue[] = [];
  const names = [...known.rules.keys()];
  const where = {
    source: cam.file ?? `camera ${cam.id}`,
    ...(cam.line === undefined ? {} : { line: cam.line }),
  };
  cam.detectors.forEach((d, i) => {
    if (!known.rules.has(d.rule)) {
      issues.push({
        ...where,
        path: `detectors[${i}].rule`,
        expected: `one of ${names.join(', ') || '(no plugins loaded)'}`,
        found: JSON.stringify(d.rule),
        message: `unknown rule ${JSON.stringify(d.rule)}`,
      });
      return;
    }
    const schema = known.rules.get(d.rule);
    if (!schema) return;
    const r = schema.safeParse(d.options, { reportInput: true });
    if (r.success) return;
    for (const iss of r.error.issues) {
      const path = [
        `detectors[${i}].options`,
        ...iss.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)),
      ]
        .join('')
        .replace('.options.[', '.options[');
      const input = (iss as { input?: unknown }).input;
      issues.push({
        ...where,
        path,
        expected: 'expected' in iss ? String(iss.expected) : 'valid option',
        found: input === undefined ? 'missing or invalid' : JSON.stringify(input),
        message: iss.message,
      });
    }
  });
  const used = new Set(cam.detectors.map((d) => d.rule));
  cam.zones.forEach((z, j) => {
    z.rules.forEach((r, k) => {
      if (!known.rules.has(r))
        issues.push({
          ...where,
          path: `zones[${j}].rules[${k}]`,
          expected: `one of ${names.join(', ')}`,
          found: JSON.stringify(r),
          message: `unknown rule ${JSON.stringify(r)}`,
        });
      else if (!used.has(r))
        issues.push({
          ...where,
          path: `zones[${j}].rules[${k}]`,
          expected: `a rule listed under detectors`,
          found: JSON.stringify(r),
          message: `zone lists rule ${r} but the camera does not run it (add it under detectors:)`,
        });
    });
  });
  if (cam.model !== undefined && !known.models.includes(cam.model))
    issues.push({
      ...where,
      path: 'model',
      expected: `one of ${known.models.join(', ') || '(no model plugins loaded)'}`,
      found: JSON.stringify(cam.model),
      message: `unknown model plugin ${JSON.stringify(cam.model)}`,
    });
  return issues;
}
