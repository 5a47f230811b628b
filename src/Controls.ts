/**
 * Control annotations of evidence packs (FORMAT A.5, B.4 as revised on 2026-12-03): the control
 * ids a pack row supports, per framework. These are starting templates that map entry types to the
 * provisions they give evidence for, not certified mappings; `docs/controls.md` gives, for every id,
 * the provision it rests on and why each entry type that carries it supports it.
 *
 * A control id is spelled as in the table of B.4: the article, clause or subcategory, then its
 * short label (`"Art.12(1) automatic recording of events"`, `"A.6.2.8 AI system event logs"`;
 * NIST AI RMF subcategories bare, `"MEASURE-2.9"`). That is the layout packs have always carried
 * (one string per control, a list per row), so a reader of older packs needs no second parser; the
 * provision is the text before the first space, and each provision has exactly one label.
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/**
 * The frameworks a pack can be annotated for.
 *
 * @since 0.1.0
 * @category models
 */
export type Framework = "eu_ai_act" | "iso_42001" | "gdpr" | "nist_rmf"

/**
 * @since 0.1.0
 * @category constants
 */
export const frameworks: ReadonlyArray<Framework> = Object.freeze(["eu_ai_act", "iso_42001", "gdpr", "nist_rmf"] as const)

/**
 * A framework name the library does not know.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownFramework extends Schema.TaggedError<UnknownFramework>()("UnknownFramework", {
  framework: Schema.String
}) {
  override get message(): string {
    return `unknown framework "${this.framework}": use one of ${frameworks.join(", ")}`
  }
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isFramework = (s: unknown): s is Framework => typeof s === "string" && (frameworks as ReadonlyArray<string>).includes(s)

// One constant per provision: a provision cited by several entry types is the same string in each
// (the 2026-11-27 table had "Art.12 logging" beside "Art.12 record-keeping" for one provision).
const EU_12_1 = "Art.12(1) automatic recording of events"
const EU_12_2A = "Art.12(2)(a) situations presenting a risk"
const EU_12_2B = "Art.12(2)(b) post-market monitoring (Art.72)"
const EU_12_2C = "Art.12(2)(c) monitoring of operation (Art.26(5))"
const EU_14_4 = "Art.14(4) human oversight measures"
const EU_19_1 = "Art.19(1) log retention (provider)"
const EU_26_2 = "Art.26(2) oversight assigned by the deployer"
const EU_26_4 = "Art.26(4) input data (deployer)"
const EU_26_6 = "Art.26(6) log retention (deployer)"
const EU_86_1 = "Art.86(1) explanation of individual decisions"

const ISO_A626 = "A.6.2.6 operation and monitoring"
const ISO_A628 = "A.6.2.8 AI system event logs"
const ISO_A74 = "A.7.4 quality of data"
const ISO_A82 = "A.8.2 information for users"
const ISO_A92 = "A.9.2 responsible use"
const ISO_A94 = "A.9.4 intended use"
const ISO_A103 = "A.10.3 suppliers"

const GDPR_5_1C = "Art.5(1)(c) data minimisation"
const GDPR_5_1F = "Art.5(1)(f) integrity and confidentiality"
const GDPR_5_2 = "Art.5(2) accountability"
const GDPR_9 = "Art.9 special categories"
const GDPR_22 = "Art.22 automated individual decision-making"
const GDPR_22_3 = "Art.22(3) right to human intervention"
const GDPR_25_2 = "Art.25(2) data protection by default"
const GDPR_30 = "Art.30 records of processing"
const GDPR_32 = "Art.32 security of processing"
const GDPR_87 = "Art.87 national identification numbers"

/**
 * The base controls of one entry type, per framework, in the order of the table.
 *
 * @since 0.1.0
 * @category models
 */
export type Row = { readonly [F in Framework]: ReadonlyArray<string> }

// Frozen, rows and lists too: `forRow` hands out these very arrays, so a caller writing into one
// (through a cast) would otherwise change the controls of every later row.
const frozen = <A extends object>(o: A): A => {
  for (const v of Object.values(o)) if (v !== null && typeof v === "object" && !Object.isFrozen(v)) frozen(v as object)
  return Object.freeze(o)
}

const checkpointRow: Row = {
  eu_ai_act: [EU_12_1, EU_19_1],
  iso_42001: [ISO_A628],
  gdpr: [GDPR_5_1F, GDPR_32],
  nist_rmf: ["GOVERN-1.4"]
}

/**
 * FORMAT B.4: the base controls per entry type and framework, in the table's order. Types not here
 * (the open set of an app's own types) carry none.
 *
 * @since 0.1.0
 * @category mapping
 */
export const table: { readonly [type: string]: Row } = frozen({
  audit_open: {
    eu_ai_act: [EU_12_1, EU_19_1, EU_26_6],
    iso_42001: [ISO_A628],
    gdpr: [GDPR_30, GDPR_5_2],
    nist_rmf: ["MAP-1.1", "GOVERN-1.4"]
  },
  decision: {
    eu_ai_act: [EU_12_1, EU_86_1],
    iso_42001: [ISO_A628, ISO_A92],
    gdpr: [GDPR_22, GDPR_5_2],
    nist_rmf: ["MEASURE-2.9", "MANAGE-4.1"]
  },
  decision_record: {
    eu_ai_act: [EU_12_1, EU_86_1],
    iso_42001: [ISO_A628, ISO_A82],
    gdpr: [GDPR_22],
    nist_rmf: ["MEASURE-2.9"]
  },
  decision_end: {
    eu_ai_act: [EU_12_1, EU_12_2A],
    iso_42001: [ISO_A628, ISO_A626],
    gdpr: [GDPR_30],
    nist_rmf: ["MEASURE-2.4"]
  },
  llm_call: {
    eu_ai_act: [EU_12_1, EU_12_2B, EU_12_2C],
    iso_42001: [ISO_A628, ISO_A626, ISO_A103],
    gdpr: [GDPR_30],
    nist_rmf: ["MEASURE-2.4", "MANAGE-4.1"]
  },
  tool_call: {
    eu_ai_act: [EU_12_1, EU_12_2C],
    iso_42001: [ISO_A628, ISO_A626],
    gdpr: [GDPR_30],
    nist_rmf: ["MEASURE-2.4"]
  },
  context_assembly: {
    eu_ai_act: [EU_12_1, EU_26_4],
    iso_42001: [ISO_A628, ISO_A74],
    gdpr: [GDPR_5_1C],
    nist_rmf: ["MEASURE-2.4"]
  },
  human_oversight: {
    eu_ai_act: [EU_14_4, EU_26_2],
    iso_42001: [ISO_A92, ISO_A94],
    gdpr: [GDPR_22_3],
    nist_rmf: ["GOVERN-3.2", "MANAGE-4.1"]
  },
  policy_flag: {
    eu_ai_act: [EU_12_2A],
    iso_42001: [ISO_A628, ISO_A92],
    gdpr: [GDPR_5_1C, GDPR_25_2],
    nist_rmf: ["MEASURE-2.10", "MANAGE-4.1"]
  },
  checkpoint: checkpointRow,
  key_rotation: checkpointRow
})

/**
 * FORMAT B.4: the controls a `policy_flag` row adds for a detector group its `data` names, only
 * in the framework each belongs to (all three are GDPR's). Groups not here (`pii`, `financial`)
 * add nothing: no framework outside the four is cited (the earlier PCI-DSS cross-reference is
 * gone), and personal data in general is already the base row's data minimisation.
 *
 * @since 0.1.0
 * @category mapping
 */
export const overlays: { readonly [group: string]: Partial<Row> } = frozen({
  special_category: { gdpr: [GDPR_9] },
  gov_id: { gdpr: [GDPR_87] },
  secret: { gdpr: [GDPR_32] },
  credential: { gdpr: [GDPR_32] }
})

const own = <A>(o: { readonly [k: string]: A }, k: string): A | undefined => (Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined)

/**
 * The detector groups a `policy_flag` payload names in `data`: `group` (an app's flag), `groups`
 * (the automatic flag after a redaction) or a `findings` list (the guard's flags).
 *
 * @since 0.1.0
 * @category mapping
 */
export const groupsOf = (payload: unknown): ReadonlyArray<string> => {
  if (payload === null || typeof payload !== "object") return []
  const data = (payload as { data?: unknown }).data
  if (data === null || typeof data !== "object") return []
  const out: Array<string> = []
  const d = data as { group?: unknown; groups?: unknown; findings?: unknown }
  if (typeof d.group === "string") out.push(d.group)
  if (Array.isArray(d.groups)) for (const g of d.groups) if (typeof g === "string") out.push(g)
  if (Array.isArray(d.findings)) {
    for (const f of d.findings) {
      if (f !== null && typeof f === "object" && typeof (f as { group?: unknown }).group === "string") out.push((f as { group: string }).group)
    }
  }
  return out
}

/**
 * The control ids of one row: its type's base controls, then (for `policy_flag`) the overlays of
 * the groups its `data` names, in this framework only, each id once. Unknown types have none.
 *
 * @since 0.1.0
 * @category mapping
 */
export const forRow = (framework: Framework, type: string, payload: unknown): ReadonlyArray<string> => {
  const row = own(table, type)?.[framework] ?? []
  if (type !== "policy_flag") return row
  const out = [...row]
  for (const g of groupsOf(payload)) {
    for (const c of own(overlays, g)?.[framework] ?? []) if (!out.includes(c)) out.push(c)
  }
  return out
}

/**
 * The provision a control id rests on: the text before its label (`"Art.12(2)(b)"`, `"A.6.2.8"`,
 * `"MEASURE-2.10"`).
 *
 * @since 0.1.0
 * @category mapping
 */
export const provisionOf = (id: string): string => {
  const space = id.indexOf(" ")
  return space < 0 ? id : id.slice(0, space)
}

const slug = (framework: Framework, id: string): string =>
  `${framework}-${provisionOf(id).toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "")}`

/**
 * One control a pack can carry: its framework, id, provision, the anchor of its section in
 * `docs/controls.md`, the entry types whose base controls include it, and the detector groups
 * whose overlay adds it to a `policy_flag` row.
 *
 * @since 0.1.0
 * @category models
 */
export interface Control {
  readonly framework: Framework
  readonly id: string
  readonly provision: string
  readonly anchor: string
  readonly types: ReadonlyArray<string>
  readonly groups: ReadonlyArray<string>
}

/**
 * Every control id a pack can carry, by framework in the order of `frameworks`, each framework's
 * in order of first appearance in the table, then the overlays.
 *
 * @since 0.1.0
 * @category mapping
 */
export const catalogue: ReadonlyArray<Control> = frozen(frameworks.flatMap((framework) => {
  const byId = new Map<string, { types: Array<string>; groups: Array<string> }>()
  const at = (id: string) => {
    const found = byId.get(id)
    if (found !== undefined) return found
    const made = { types: [] as Array<string>, groups: [] as Array<string> }
    byId.set(id, made)
    return made
  }
  for (const [type, row] of Object.entries(table)) for (const id of row[framework]) at(id).types.push(type)
  for (const [group, row] of Object.entries(overlays)) for (const id of row[framework] ?? []) at(id).groups.push(group)
  return [...byId].map(([id, { groups, types }]) => ({ framework, id, provision: provisionOf(id), anchor: slug(framework, id), types, groups }))
}))

const anchors: ReadonlyMap<string, string> = new Map(catalogue.map((c) => [`${c.framework}\u0000${c.id}`, c.anchor]))

/**
 * The HTML anchor of a control's section in `docs/controls.md` (`"eu_ai_act-art-12-1"` for
 * `"Art.12(1) automatic recording of events"` under `eu_ai_act`), so a report can link a control
 * to the provision it rests on: `docs/controls.md#<anchor>`. `None` for an id this mapping never
 * writes in that framework (a pack from another implementation, or of an earlier revision).
 *
 * @since 0.1.0
 * @category mapping
 */
export const anchor = (framework: Framework, id: string): Option.Option<string> => Option.fromNullable(anchors.get(`${framework}\u0000${id}`))

/**
 * Where the controls are explained, relative to the package root (`docs/` is published with the
 * package): a control's text is at `${DOCS_PATH}#${anchor}`.
 *
 * @since 0.1.0
 * @category constants
 */
export const DOCS_PATH = "docs/controls.md"
