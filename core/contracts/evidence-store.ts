/** Evidence JPEGs by date, on disk or in Redis. Implemented by core/evidence. */
export interface EvidenceStore {
  /** Stores a JPEG and returns its relative path (YYYY-MM-DD/<name>.jpg). */
  put(name: string, jpeg: Uint8Array, at?: number): Promise<string>;
  read(relPath: string): Promise<Buffer>;
}
