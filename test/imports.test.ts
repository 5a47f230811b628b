/**
 * The modules of `src/` import one another without a cycle, type-only imports included (a cycle
 * of value imports breaks module evaluation order: a class or constant read before its module ran;
 * a type-level one makes two modules one unit that cannot be understood, or split, apart). The
 * graph is read from the `import`/`export … from` statements of every file, as TypeScript resolves
 * relative specifiers (`./X.js` is `./X.ts`).
 */
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { describe, expect, it } from "@effect/vitest"

const SRC = resolve(import.meta.dirname, "../src")

/** Every `.ts` file under `dir`. */
const sources = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sources(join(dir, d.name)) : d.name.endsWith(".ts") ? [join(dir, d.name)] : []
  )

/** The relative modules a file imports or re-exports (static and dynamic), as absolute `.ts` paths. */
const importsOf = (file: string): Array<string> => {
  // comments dropped first, so an example in a doc comment is not read as an import
  const text = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "")
  const found: Array<string> = []
  const pattern = /(?:\bfrom\s*|\bimport\s*\(?\s*)"(\.{1,2}\/[^"]+)"/g
  for (const m of text.matchAll(pattern)) found.push(resolve(dirname(file), m[1]!.replace(/\.js$/, ".ts")))
  return found
}

/** The strongly connected components of more than one module (or a module importing itself). */
const cycles = (graph: ReadonlyMap<string, ReadonlyArray<string>>): Array<Array<string>> => {
  let next = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: Array<string> = []
  const onStack = new Set<string>()
  const out: Array<Array<string>> = []
  const visit = (v: string) => {
    index.set(v, next)
    low.set(v, next++)
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) === index.get(v)) {
      const component: Array<string> = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        component.push(w)
      } while (w !== v)
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(component.map((f) => relative(SRC, f)).sort())
    }
  }
  for (const v of graph.keys()) if (!index.has(v)) visit(v)
  return out
}

describe("the module graph of src/", () => {
  const graph = new Map(sources(SRC).map((f) => [f, importsOf(f)] as const))

  it("has no import cycle, type-only imports included", () => {
    expect(cycles(graph)).toEqual([])
  })

  it("is read correctly: AuditLog reaches the capture hub, and the checker finds a cycle it is given", () => {
    const auditLog = graph.get(join(SRC, "AuditLog.ts")) ?? []
    expect(auditLog.some((f) => f.includes("apture"))).toBe(true)
    const a = join(SRC, "A.ts")
    const b = join(SRC, "B.ts")
    expect(cycles(new Map([[a, [b]], [b, [a]]]))).toEqual([["A.ts", "B.ts"]])
  })
})
