/** Evidence JPEGs on disk by date. Implemented by gateway/evidence. */
export interface EvidenceStore {
  /** Stores a JPEG and returns its relative path (YYYY-MM-DD/<name>.jpg). */
  put(name: string, jpeg: Uint8Array, at?: number): Promise<string>;
  /** Absolute path for a relative one; throws on anything that escapes the store. */
  resolve(relPath: string): string;
  read(relPath: string): Promise<Buffer>;
}
