// This machine's ANN index of the library's catalogue, as searches use it: opened
// for the catalogue's identity and model (an index of another catalogue or model
// is ignored), reopened when build-index has replaced it, and skipped with one
// warning when its file is damaged (search is then exact, and still complete).
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Catalog } from '../catalog/ports.js';
import type { ModelIdentity } from '../catalog/types.js';
import { AnnIndex, IndexDamagedError, type IndexIdentity } from '../index/ann-index.js';

export class IndexSource {
  private index: AnnIndex | null = null;
  /** What the index was opened for: the manifest file's stamp and the identity. */
  private openedFor = '';
  private warned = '';
  /** A catalogue's identity never changes while it is open. */
  private catalogId: string | null = null;

  constructor(
    private readonly dir: string,
    private readonly catalog: Pick<Catalog, 'identity' | 'models'>,
    private readonly warn: (line: string) => void = () => {},
  ) {}

  /**
   * The identity an index must carry to be used, or null while the library has no
   * model: of `model` (the space a search keeps to), else of the library's model now.
   */
  async identity(forModel?: ModelIdentity): Promise<IndexIdentity | null> {
    const model = forModel ?? (await this.catalog.models.model());
    if (!model) return null;
    this.catalogId ??= await this.catalog.identity();
    return { catalogId: this.catalogId, model };
  }

  /** The current index (of `model`'s vectors, by default the library's model), or null when there is none that fits (search is then exact). */
  async current(model?: ModelIdentity): Promise<AnnIndex | null> {
    const identity = await this.identity(model);
    if (!identity) return null;
    const key = `${this.manifestStamp()}|${identity.catalogId}|${JSON.stringify(identity.model)}`;
    if (key !== this.openedFor) {
      this.openedFor = key;
      try {
        this.index = AnnIndex.open(this.dir, identity);
      } catch (err) {
        if (!(err instanceof IndexDamagedError)) throw err;
        this.index = null;
        if (this.warned !== key) this.warn(`${err.message}; searching exactly meanwhile`);
        this.warned = key;
      }
    }
    return this.index;
  }

  private manifestStamp(): string {
    try {
      const info = statSync(join(this.dir, 'manifest.json'));
      return `${info.mtimeMs}:${info.size}:${info.ino}`;
    } catch {
      return 'none';
    }
  }
}
