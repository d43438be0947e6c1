import { lstatSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, sep } from 'node:path';
import { parse } from 'yaml';
import { Codes, GridwatchError } from '../errors.js';
import type { SecretRef } from '../contracts/common-schema.js';

/** A secrets file is a few keys; anything larger is not one (and is not read into memory). */
const MAX_SECRET_FILE_BYTES = 64 * 1024;

export interface SecretPlaces {
  /**
   * Secrets directories (absolute): files anywhere below them may be read. Default: the
   * `secrets/` folder next to the referencing config file, plus GRIDWATCH_SECRETS_DIRS
   * (list separated like PATH) and systemd's CREDENTIALS_DIRECTORY from the environment.
   */
  dirs?: readonly string[];
}

function realOrNull(p: string): string | null {
  try {
    return realpathSync(p);
  } catch {
    return null;
  }
}

/**
 * Where secret files may be, symlinks resolved: the folder of the referencing config file
 * itself (not its subfolders, so the data directory and the wall's session key stay out of
 * reach) and every secrets directory, recursively.
 */
export function secretPlaces(
  baseDir: string,
  env: NodeJS.ProcessEnv = process.env,
  opts: SecretPlaces = {},
): { flat: string[]; deep: string[] } {
  const deep = [
    join(baseDir, 'secrets'),
    ...(opts.dirs ?? []),
    ...(env.GRIDWATCH_SECRETS_DIRS ?? '').split(delimiter),
    ...(env.CREDENTIALS_DIRECTORY ? [env.CREDENTIALS_DIRECTORY] : []),
  ]
    .filter((d) => d !== '' && isAbsolute(d))
    .map(realOrNull)
    .filter((d): d is string => d !== null);
  const base = realOrNull(baseDir);
  return { flat: base ? [base] : [], deep: [...new Set(deep)] };
}

function readSecretFile(ref: { file: string }, baseDir: string, env: NodeJS.ProcessEnv, opts: SecretPlaces) {
  const written = isAbsolute(ref.file) ? ref.file : join(baseDir, ref.file);
  const missing = (why: string) =>
    new GridwatchError(Codes.GW_SECRET_MISSING, `secrets file ${ref.file} ${why}`, { field: 'file' });
  const real = realOrNull(written);
  if (real === null) throw missing('does not exist or cannot be reached');
  const places = secretPlaces(baseDir, env, opts);
  const inside =
    places.flat.includes(dirname(real)) || places.deep.some((d) => real === d || real.startsWith(d + sep));
  if (!inside) {
    let how = '';
    try {
      if (lstatSync(written).isSymbolicLink()) how = ' through a symbolic link';
    } catch {
      // Reached above, so it exists; a race with a rename only loses the wording.
    }
    throw new GridwatchError(
      Codes.GW_SECRET_PLACE,
      `secrets file ${ref.file} leads${how} outside the secrets directories: put it next to the config file or in a secrets directory (secrets/ next to it, GRIDWATCH_SECRETS_DIRS, CREDENTIALS_DIRECTORY)`,
      { field: 'file' },
    );
  }
  let size: number;
  try {
    const st = statSync(real);
    if (!st.isFile()) throw missing('is not a regular file');
    size = st.size;
  } catch (err) {
    if (err instanceof GridwatchError) throw err;
    throw missing('cannot be read');
  }
  if (size > MAX_SECRET_FILE_BYTES) throw missing(`is larger than ${MAX_SECRET_FILE_BYTES / 1024} KB`);
  try {
    return readFileSync(real, 'utf8');
  } catch {
    // No cause attached: loggers print causes, and this one would only repeat the path.
    throw missing('cannot be read (permissions?)');
  }
}

/**
 * Reads a secret from the environment or a secrets file. Error messages name the variable or
 * the file and key as written in the config, never the value nor any text of the file (a YAML
 * error is reported by line only). Files are read only from the secrets places above: a
 * reference or a symbolic link leading anywhere else is refused with GW_SECRET_PLACE.
 */
export function resolveSecret(
  ref: SecretRef,
  baseDir: string,
  env: NodeJS.ProcessEnv = process.env,
  opts: SecretPlaces = {},
): string {
  if ('env' in ref) {
    const v = env[ref.env];
    if (v === undefined || v === '') {
      throw new GridwatchError(Codes.GW_SECRET_MISSING, `environment variable ${ref.env} is not set`, {
        field: 'env',
      });
    }
    return v;
  }
  const text = readSecretFile(ref, baseDir, env, opts);
  if (ref.key === undefined) return text.trim();
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    const line = (err as { linePos?: Array<{ line: number }> }).linePos?.[0]?.line;
    throw new GridwatchError(
      Codes.GW_SECRET_MISSING,
      `secrets file ${ref.file} is not valid YAML or JSON${line === undefined ? '' : ` (line ${line})`}`,
      { field: 'file' },
    );
  }
  const v = doc && typeof doc === 'object' ? (doc as Record<string, unknown>)[ref.key] : undefined;
  if (typeof v !== 'string' || v === '') {
    throw new GridwatchError(
      Codes.GW_SECRET_MISSING,
      `secrets file ${ref.file} has no string key ${ref.key}`,
      {
        field: 'key',
      },
    );
  }
  return v;
}
