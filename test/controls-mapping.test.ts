/**
 * The control mapping (FORMAT B.4 as revised on 2026-12-03) against three things it must agree
 * with: the table of the spec itself (parsed from ../shared at test time, so a later revision of
 * the spec fails here until the mapping follows it), vectors of our own written by hand (so a
 * clone without ../shared still holds the mapping), and docs/controls.md (every control id a pack
 * can carry has its section there, under its anchor and its framework).
 *
 * Enumerated: every entry type (the known types, `key_rotation`, an app's own type), every detector
 * group (the `Group` type of src/internal/detector.ts read from its source, and the groups of the built-in and
 * opt-in detectors), in every payload shape that names a group, under all four frameworks, and
 * packs really exported through `AuditLog` for each framework.
 */
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import * as AuditLog from "../src/AuditLog.js"
import * as Controls from "../src/Controls.js"
import * as Detect from "../src/Detect.js"
import * as Entry from "../src/Entry.js"
import { ROOT, SHARED, tempDir } from "./helpers.js"

const SPEC = join(SHARED, "spec", "FORMAT.md")
const DOCS = join(ROOT, "docs", "controls.md")

// ---------------------------------------------------------------------------------------------
// what a pack can carry: every type, every group, every payload shape naming groups

/** The detector groups: the `Group` type as written in src/internal/detector.ts (`Detect.Group`), and every detector's group. */
const groups: ReadonlyArray<string> = (() => {
  const source = readFileSync(join(ROOT, "src", "internal", "detector.ts"), "utf8")
  const decl = /export type Group =([^\n]+)/.exec(source)
  if (decl === null) throw new Error("src/internal/detector.ts no longer declares `export type Group = …` on one line: read the groups another way")
  const declared = [...decl[1]!.matchAll(/"([a-z_]+)"/g)].map((m) => m[1]!)
  if (declared.length < 6) throw new Error(`the Group type names ${declared.length} groups: read the groups another way`)
  const optIn = Object.values(Detect.optIn).map((v) => (typeof v === "function" ? (v as () => Detect.Detector)() : (v as Detect.Detector)).group)
  return [...new Set([...declared, ...Detect.builtins.map((d) => d.group), ...optIn])].sort()
})()

const types: ReadonlyArray<string> = [...Entry.KnownType.literals, "key_rotation", "x-vendor/event"]

/** The ways a `policy_flag`'s `data` names groups (an app's flag, the automatic flag, the guard's). */
const shapes = (gs: ReadonlyArray<string>): ReadonlyArray<unknown> => [
  ...gs.map((group) => ({ data: { group } })),
  { data: { groups: gs } },
  { data: { findings: gs.map((group) => ({ category: "x", group, count: 1 })) } },
  { data: {} },
  { data: null },
  {}
]

/** Every (framework, type, payload) a pack row can be, and the ids the mapping gives it. */
const rows = Controls.frameworks.flatMap((framework) =>
  types.flatMap((type) =>
    (type === "policy_flag" ? [...shapes(groups), ...groups.flatMap((g) => shapes([g]))] : [{}]).map((payload) => ({
      framework,
      type,
      payload,
      ids: Controls.forRow(framework, type, payload)
    }))
  )
)

const carried = (framework: Controls.Framework): ReadonlySet<string> => new Set(rows.filter((r) => r.framework === framework).flatMap((r) => r.ids))

// ---------------------------------------------------------------------------------------------
// docs/controls.md: sections by anchor, under framework headings

interface Section {
  readonly anchor: string
  readonly framework: string
  readonly text: string
}

const sections = (): ReadonlyArray<Section> => {
  const md = readFileSync(DOCS, "utf8")
  const out: Array<Section> = []
  const marks = [...md.matchAll(/<a id="([^"]+)"><\/a>/g)]
  for (const [i, m] of marks.entries()) {
    const start = m.index
    const end = i + 1 < marks.length ? marks[i + 1]!.index : md.length
    // the framework a section is under: the last second-level heading before it names it in backticks
    const headings = [...md.slice(0, start).matchAll(/^## .*`([a-z0-9_]+)`.*$/gm)]
    out.push({ anchor: m[1]!, framework: headings.at(-1)?.[1] ?? "", text: md.slice(start, end).split(/^## /m)[0]! })
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// FORMAT.md B.4, parsed

interface SpecMapping {
  readonly revised: string
  readonly table: ReadonlyMap<string, Readonly<Record<string, ReadonlyArray<string>>>>
  readonly overlayFramework: string
  readonly overlays: ReadonlyMap<string, ReadonlyArray<string>>
}

const parseSpec = (text: string): SpecMapping => {
  const start = text.indexOf("### B.4")
  if (start < 0) throw new Error("FORMAT.md has no section B.4")
  const rest = text.slice(start)
  // up to the next heading of any level
  const next = rest.search(/\n#{2,3} /)
  const section = next < 0 ? rest : rest.slice(0, next)
  const revised = /revised (\d{4}-\d{2}-\d{2})/.exec(section.split("\n")[0]!)?.[1] ?? ""
  const lines = section.split("\n").filter((l) => l.startsWith("|"))
  const cells = (l: string) => l.slice(1, l.lastIndexOf("|")).split("|").map((c) => c.trim())
  const header = cells(lines[0]!)
  const table = new Map<string, Record<string, ReadonlyArray<string>>>()
  for (const l of lines.slice(2)) {
    const [typeCell, ...rest] = cells(l)
    const row: Record<string, ReadonlyArray<string>> = {}
    rest.forEach((c, i) => (row[header[i + 1]!] = c === "" ? [] : c.split("; ")))
    for (const type of typeCell!.split(", ")) table.set(type, row)
  }
  // the overlays' prose, its line breaks read as spaces
  const prose = section.slice(section.indexOf("overlays by group")).replace(/\s+/g, " ")
  const overlayFramework = /overlays by group, (\w+) packs only/.exec(prose)?.[1] ?? ""
  const overlays = new Map<string, Array<string>>()
  for (const m of prose.matchAll(/((?:`\w+`\/?)+) adds? (Art\.\S+ [^;.]+)/g)) {
    for (const g of m[1]!.split("/")) overlays.set(g.replaceAll("`", ""), [...(overlays.get(g.replaceAll("`", "")) ?? []), m[2]!.trim()])
  }
  return { revised, table, overlayFramework, overlays }
}

/** ../shared is beside the repository in CI and in development; a user's clone has none. */
const specPresent = (): boolean => {
  if (existsSync(SPEC)) return true
  if (process.env["CI"] === "true") throw new Error(`CI=true but ${SPEC} is missing: the control mapping is checked against FORMAT.md B.4`)
  console.warn(`SKIPPED: ${SPEC} not found; the check of the control mapping against FORMAT.md B.4 needs ../shared beside the repository (the hand-written vectors below still run)`)
  return false
}

// ---------------------------------------------------------------------------------------------

describe("Controls: FORMAT B.4 (revised 2026-12-03), our own vectors", () => {
  it("maps a few types as written out by hand", () => {
    expect(Controls.forRow("eu_ai_act", "human_oversight", {})).toEqual(["Art.14(4) human oversight measures", "Art.26(2) oversight assigned by the deployer"])
    expect(Controls.forRow("eu_ai_act", "decision", {})).toEqual(["Art.12(1) automatic recording of events", "Art.86(1) explanation of individual decisions"])
    expect(Controls.forRow("eu_ai_act", "llm_call", {})).toEqual([
      "Art.12(1) automatic recording of events",
      "Art.12(2)(b) post-market monitoring (Art.72)",
      "Art.12(2)(c) monitoring of operation (Art.26(5))"
    ])
    expect(Controls.forRow("eu_ai_act", "audit_open", {})).toEqual([
      "Art.12(1) automatic recording of events",
      "Art.19(1) log retention (provider)",
      "Art.26(6) log retention (deployer)"
    ])
    expect(Controls.forRow("iso_42001", "llm_call", {})).toEqual(["A.6.2.8 AI system event logs", "A.6.2.6 operation and monitoring", "A.10.3 suppliers"])
    expect(Controls.forRow("gdpr", "decision_record", {})).toEqual(["Art.22 automated individual decision-making"])
    expect(Controls.forRow("nist_rmf", "policy_flag", {})).toEqual(["MEASURE-2.10", "MANAGE-4.1"])
    expect(Controls.forRow("nist_rmf", "checkpoint", {})).toEqual(["GOVERN-1.4"])
    expect(Controls.forRow("gdpr", "key_rotation", {})).toEqual(["Art.5(1)(f) integrity and confidentiality", "Art.32 security of processing"])
    expect(Controls.forRow("gdpr", "x-vendor/event", {})).toEqual([])
  })

  it("hands out lists no caller can change the mapping through", () => {
    const row = Controls.forRow("gdpr", "decision", {}) as Array<string>
    expect(() => row.push("Art.99 invented")).toThrow(TypeError)
    expect(() => (Controls.frameworks as Array<string>).push("sox")).toThrow(TypeError)
    expect(Controls.forRow("gdpr", "decision", {})).toEqual(["Art.22 automated individual decision-making", "Art.5(2) accountability"])
    expect(Controls.isFramework("sox")).toBe(false)
  })

  it("adds the overlays of a policy_flag's groups in gdpr only, once each, and nothing for pii or financial", () => {
    const all = { data: { groups: ["special_category", "gov_id", "secret", "credential", "financial", "pii"] } }
    expect(Controls.forRow("gdpr", "policy_flag", all)).toEqual([
      "Art.5(1)(c) data minimisation",
      "Art.25(2) data protection by default",
      "Art.9 special categories",
      "Art.87 national identification numbers",
      "Art.32 security of processing"
    ])
    expect(Controls.forRow("eu_ai_act", "policy_flag", all)).toEqual(["Art.12(2)(a) situations presenting a risk"])
    expect(Controls.forRow("iso_42001", "policy_flag", all)).toEqual(["A.6.2.8 AI system event logs", "A.9.2 responsible use"])
    expect(Controls.forRow("gdpr", "policy_flag", { data: { group: "financial" } })).toEqual(["Art.5(1)(c) data minimisation", "Art.25(2) data protection by default"])
    // the overlay follows the flag's type only: a decision naming a group gets none
    expect(Controls.forRow("gdpr", "decision", { data: { group: "special_category" } })).toEqual(["Art.22 automated individual decision-making", "Art.5(2) accountability"])
  })

  it("gives each control a stable anchor, and none to an id this mapping does not write", () => {
    expect(Controls.anchor("eu_ai_act", "Art.12(1) automatic recording of events")).toEqual(Option.some("eu_ai_act-art-12-1"))
    expect(Controls.anchor("eu_ai_act", "Art.12(2)(b) post-market monitoring (Art.72)")).toEqual(Option.some("eu_ai_act-art-12-2-b"))
    expect(Controls.anchor("iso_42001", "A.6.2.8 AI system event logs")).toEqual(Option.some("iso_42001-a-6-2-8"))
    expect(Controls.anchor("gdpr", "Art.5(1)(c) data minimisation")).toEqual(Option.some("gdpr-art-5-1-c"))
    expect(Controls.anchor("nist_rmf", "MEASURE-2.10")).toEqual(Option.some("nist_rmf-measure-2-10"))
    // the earlier revision's labels, and an id of another framework
    expect(Controls.anchor("eu_ai_act", "Art.12 logging")).toEqual(Option.none())
    expect(Controls.anchor("eu_ai_act", "Art.32 security of processing")).toEqual(Option.none())
    const anchors = Controls.catalogue.map((c) => c.anchor)
    expect(new Set(anchors).size).toBe(anchors.length)
  })
})

describe("Controls: over every entry type, detector group and framework", () => {
  it("reads the groups and types it enumerates", () => {
    expect(groups).toEqual(expect.arrayContaining(["secret", "credential", "financial", "gov_id", "pii", "special_category"]))
    expect(types).toEqual(expect.arrayContaining(["policy_flag", "checkpoint", "key_rotation", "decision"]))
  })

  it("cites one label per provision and no framework outside the four", () => {
    for (const framework of Controls.frameworks) {
      const ids = [...carried(framework)]
      const byProvision = new Map<string, Set<string>>()
      for (const id of ids) byProvision.set(Controls.provisionOf(id), (byProvision.get(Controls.provisionOf(id)) ?? new Set()).add(id))
      for (const [p, labels] of byProvision) expect([...labels], `${framework} ${p}`).toHaveLength(1)
      const shape = { eu_ai_act: /^Art\.\d+/, iso_42001: /^A\.\d+(\.\d+)*$/, gdpr: /^Art\.\d+/, nist_rmf: /^(GOVERN|MAP|MEASURE|MANAGE)-\d+\.\d+$/ }[framework]
      for (const id of ids) {
        expect(Controls.provisionOf(id), `${framework}: ${id}`).toMatch(shape)
        expect(id).not.toMatch(/PCI|DSS|cross-reference/i)
      }
    }
  })

  it("never puts an overlay's id, or any id of another framework, in a pack of another framework", () => {
    for (const r of rows) {
      for (const id of r.ids) {
        const owner = Controls.catalogue.find((c) => c.framework === r.framework && c.id === id)
        expect(owner, `${r.framework} ${r.type} ${JSON.stringify(r.payload)}: ${id} is not one of ${r.framework}'s controls`).toBeDefined()
      }
      expect(new Set(r.ids).size, `${r.framework} ${r.type}: an id twice`).toBe(r.ids.length)
    }
    // every overlay id, into the packs of the frameworks it does not belong to: absent
    for (const c of Controls.catalogue.filter((c) => c.groups.length > 0)) {
      for (const other of Controls.frameworks.filter((f) => f !== c.framework)) expect(carried(other).has(c.id), `${c.id} in ${other}`).toBe(false)
    }
    // and the catalogue is exactly what rows carry
    for (const framework of Controls.frameworks) {
      expect([...carried(framework)].sort()).toEqual(Controls.catalogue.filter((c) => c.framework === framework).map((c) => c.id).sort())
    }
  })

  it("puts every control id a pack can carry in docs/controls.md, under its anchor and framework, with the types and groups that carry it", () => {
    const docs = sections()
    for (const framework of Controls.frameworks) {
      for (const id of carried(framework)) {
        const a = Controls.anchor(framework, id)
        expect(Option.isSome(a), `${framework}: ${id} has no anchor`).toBe(true)
        const s = docs.find((d) => d.anchor === Option.getOrThrow(a))
        expect(s, `docs/controls.md has no <a id="${Option.getOrThrow(a)}"></a> for ${id}`).toBeDefined()
        expect(s!.framework, `${id} is under the wrong framework's heading`).toBe(framework)
        expect(s!.text, `${id} is not named in its section`).toContain("`" + id + "`")
        const c = Controls.catalogue.find((c) => c.framework === framework && c.id === id)!
        for (const t of c.types) expect(s!.text, `${id}: why ${t} supports it`).toContain("`" + t + "`")
        for (const g of c.groups) expect(s!.text, `${id}: the ${g} overlay`).toContain("`" + g + "`")
      }
    }
    // and no section of the docs names a control the mapping no longer writes
    for (const d of docs.filter((d) => (Controls.frameworks as ReadonlyArray<string>).includes(d.framework))) {
      expect(Controls.catalogue.some((c) => c.anchor === d.anchor), `docs/controls.md #${d.anchor} is not a control of the mapping`).toBe(true)
    }
    const md = readFileSync(DOCS, "utf8")
    for (const fact of ["six months", "Art.19(1)", "Art.26(6)", "not certified", "not a guarantee"]) expect(md).toContain(fact)
  })

  it.scoped("exports packs whose rows carry exactly the mapping's ids, each documented, for every framework", () =>
    Effect.gen(function* () {
      const tmp = tempDir()
      yield* Effect.addFinalizer(() => Effect.sync(tmp.cleanup))
      const docs = new Set(sections().map((s) => s.anchor))
      const l = yield* AuditLog.AuditLog
      yield* l.withDecision({ input: { a: 1 }, actor: "agent" }, (d) =>
        Effect.gen(function* () {
          yield* d.record({ step: 1 })
          yield* l.append("llm_call", { provider: "openai", model: "gpt-4.1", usage: null, cost: null, latency_ms: 3, replayed: false })
          yield* l.append("tool_call", { name: "lookup", arguments: {} })
          yield* l.append("context_assembly", { model: "gpt-4.1", budget: 10, used: 5, decisions: [] })
          yield* d.humanOversight({ reviewer: "r", action: "approved" })
          for (const group of groups) yield* d.flag(`a ${group} finding`, { action: "flagged", severity: "info", data: { group } })
          yield* d.flag("several", { action: "redacted", severity: "warning", data: { groups } })
        })
      )
      for (const framework of Controls.frameworks) {
        const path = join(tmp.dir, `${framework}.pack.jsonl`)
        const done = yield* l.export(path, { framework })
        const lines = readFileSync(path, "utf8").trim().split("\n").map((x) => JSON.parse(x) as Record<string, unknown>)
        const seen = new Set<string>()
        for (const row of lines.slice(1)) {
          expect(row["controls"]).toEqual(Controls.forRow(framework, row["type"] as string, row["payload"]))
          for (const id of row["controls"] as ReadonlyArray<string>) {
            seen.add(id)
            expect(docs.has(Option.getOrElse(Controls.anchor(framework, id), () => "")), `${framework}: ${id} undocumented`).toBe(true)
          }
        }
        expect([...done.controlsCovered].sort()).toEqual([...seen].sort())
        expect((lines[0]!["_meta"] as { controls_covered: unknown }).controls_covered).toEqual(done.controlsCovered)
      }
    }).pipe(Effect.provide(AuditLog.layerTest()), Effect.provide(NodeFileSystem.layer))
  )
})

const shared = specPresent()

describe.runIf(shared)("Controls: the table of ../shared/spec/FORMAT.md B.4", () => {
  const spec = shared ? parseSpec(readFileSync(SPEC, "utf8")) : undefined

  it("is the revision the mapping follows", () => {
    expect(spec!.revised).toBe("2026-12-03")
  })

  it("equals the mapping, type by type and framework by framework", () => {
    const s = spec!
    expect([...s.table.keys()].sort()).toEqual(Object.keys(Controls.table).sort())
    for (const [type, row] of s.table) {
      expect(Object.keys(row).sort()).toEqual([...Controls.frameworks].sort())
      for (const framework of Controls.frameworks) expect(Controls.forRow(framework, type, {}), `${type} ${framework}`).toEqual(row[framework])
    }
  })

  it("has the overlays of the mapping, in their one framework", () => {
    const s = spec!
    expect(s.overlayFramework).toBe("gdpr")
    expect([...s.overlays.keys()].sort()).toEqual(Object.keys(Controls.overlays).sort())
    for (const [group, ids] of s.overlays) {
      expect(Controls.overlays[group]).toEqual({ [s.overlayFramework]: ids })
    }
  })
})
