/**
 * The layering of ARCHITECTURE.md, checked on the import graph:
 *   pipeline → stages → topics → core, never upward; no two folders import each other round a
 *   circle; core (the math, the CSV parser, the model) imports no I/O library at all.
 */
import { join } from 'node:path';
import { folderCycles, importEdges, sourceFiles, type ImportEdge } from '../support/import-graph';

const ROOT = join(__dirname, '..', '..');
const LAYERS = ['core', 'topics', 'stages', 'pipeline'] as const;
const layerOf = (file: string): number => LAYERS.indexOf(file.split('/')[0] as (typeof LAYERS)[number]);

/** Packages the core may use: none but Node's pure utilities; no Kafka, S3, registry, file or network access. */
const CORE_ALLOWED_PACKAGES = new Set<string>([]);

const edges: ImportEdge[] = importEdges(ROOT, sourceFiles(ROOT, LAYERS));

describe('layers', () => {
  it('reads a graph that spans every layer', () => {
    for (const layer of LAYERS) expect(edges.some((e) => e.from.startsWith(`${layer}/`))).toBe(true);
  });

  it('imports never go up a layer (pipeline → stages → topics → core)', () => {
    const upward = edges
      .filter((e) => !e.external && layerOf(e.to) >= 0 && layerOf(e.to) > layerOf(e.from))
      .map((e) => `${e.from} imports ${e.to}`);
    expect(upward).toEqual([]);
  });

  it('no folders import each other round a circle', () => {
    expect(folderCycles(edges)).toEqual([]);
  });

  it('core imports no package (no I/O: Kafka, S3, registry, files, network)', () => {
    const io = edges.filter((e) => e.external && e.from.startsWith('core/') && !CORE_ALLOWED_PACKAGES.has(e.to)).map((e) => `${e.from} imports ${e.to}`);
    expect(io).toEqual([]);
  });
});
