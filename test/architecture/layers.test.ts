import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * docs/design.md's layer table, checked over the import statements of src/ (tests and
 * test-only files excluded): what each folder may import, and no cycle between folders.
 * A layer may always import itself; type-only imports count too (a type is a dependency).
 */
const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** Folder (or file under src/) -> what it may import: folders end in '/', files are paths under src/. */
const MAY_IMPORT: Record<string, string[]> = {
  'http/': ['gateway/', 'dialects/', 'errors.ts'],
  'gateway/': ['residency/', 'backends/', 'models/', 'batching/', 'telemetry/', 'dialects/', 'upstream/', 'config/', 'errors.ts'],
  'residency/': ['scheduler/', 'backends/backend.ts', 'models/', 'memory/', 'config/', 'errors.ts'],
  'models/': ['backends/backend.ts', 'config/', 'memory/', 'gguf/', 'telemetry/', 'errors.ts'],
  'backends/': ['upstream/', 'dialects/', 'memory/', 'gguf/', 'config/', 'scheduler/', 'worker/spawn-worker.ts', 'errors.ts'],
  'upstream/': ['errors.ts'],
  'dialects/': ['errors.ts', 'config/'],
  'worker/': ['dialects/', 'telemetry/', 'errors.ts'],
  'scheduler/': ['errors.ts'],
};

interface Edge {
  from: string;
  to: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const path = join(dir, d.name);
    if (d.isDirectory()) return sourceFiles(path);
    return d.name.endsWith('.ts') && !d.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Every relative import of every source file, as paths under src/. */
function imports(): Edge[] {
  const edges: Edge[] = [];
  const pattern = /(?:^|\n)\s*(?:import|export)\b[^'";]*?\bfrom\s*['"](\.[^'"]+)['"]|\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g;
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(pattern)) {
      const spec = (m[1] ?? m[2]).replace(/\.js$/, '.ts');
      edges.push({ from: relative(SRC, file), to: relative(SRC, resolve(dirname(file), spec)) });
    }
  }
  return edges;
}

/** The top folder of a path under src/ ('http/'), or the file itself when it sits at the top ('errors.ts'). */
function layerOf(path: string): string {
  const slash = path.indexOf('/');
  return slash < 0 ? path : path.slice(0, slash + 1);
}

function allowed(from: string, to: string): boolean {
  const rules = MAY_IMPORT[layerOf(from)];
  if (!rules || layerOf(from) === layerOf(to)) return true;
  return rules.some((rule) => (rule.endsWith('/') ? to.startsWith(rule) : to === rule));
}

describe('the layers of src/', () => {
  const edges = imports();

  it('finds the imports it checks', () => {
    expect(edges.length).toBeGreaterThan(200);
    expect(edges).toContainEqual({ from: 'http/app.ts', to: 'errors.ts' });
  });

  it('imports only what docs/design.md allows each layer', () => {
    const breaches = edges.filter((e) => !allowed(e.from, e.to)).map((e) => `${e.from} -> ${e.to}`);
    expect(breaches).toEqual([]);
  });

  it('has no import cycle between folders', () => {
    const graph = new Map<string, Set<string>>();
    for (const { from, to } of edges) {
      const [a, b] = [layerOf(from), layerOf(to)];
      if (a !== b) graph.set(a, (graph.get(a) ?? new Set()).add(b));
    }
    const cycles: string[] = [];
    const visit = (node: string, path: string[]) => {
      for (const next of graph.get(node) ?? []) {
        if (next === path[0]) cycles.push([...path, next].join(' -> '));
        else if (!path.includes(next) && next > path[0]) visit(next, [...path, next]);
      }
    };
    for (const start of graph.keys()) visit(start, [start]);
    expect(cycles).toEqual([]);
  });

  it('never branches on a backend class', () => {
    const offenders = sourceFiles(SRC).filter((f) => /instanceof\s+\w*Backend\b/.test(readFileSync(f, 'utf8'))).map((f) => relative(SRC, f));
    expect(offenders).toEqual([]);
  });
});
