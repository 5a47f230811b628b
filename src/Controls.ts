/**
 * Control annotations of evidence packs (FORMAT A.5, B.4): the control ids a row supports, per
 * framework. These are starting templates that map entry types to the articles and clauses they
 * give evidence for, not certified mappings.
 *
 * @since 0.1.0
 */
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
export const frameworks: ReadonlyArray<Framework> = ["eu_ai_act", "iso_42001", "gdpr", "nist_rmf"]

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

type Table = Readonly<Record<string, Readonly<Record<Framework, ReadonlyArray<string>>>>>

/** FORMAT B.4, base controls per entry type, in the table's order. */
const base: Table = {
  audit_open: {
    eu_ai_act: ["Art.12 record-keeping", "Art.19 automatically generated logs"],
    iso_42001: ["A.6.2.8 event logs"],
    gdpr: ["Art.30 records of processing", "Art.5(2) accountability"],
    nist_rmf: ["GOVERN-1.1"]
  },
  decision: {
    eu_ai_act: ["Art.12 record-keeping", "Art.13 transparency"],
    iso_42001: ["A.6.2.8 event logs", "A.5.2 AI system impact assessment"],
    gdpr: ["Art.22 automated decision-making", "Art.5(2) accountability"],
    nist_rmf: ["MAP-1.1", "MEASURE-2.1"]
  },
  decision_record: {
    eu_ai_act: ["Art.12 record-keeping", "Art.13 transparency"],
    iso_42001: ["A.6.2.8 event logs"],
    gdpr: ["Art.22 automated decision-making"],
    nist_rmf: ["MEASURE-2.1"]
  },
  decision_end: {
    eu_ai_act: ["Art.12 record-keeping"],
    iso_42001: ["A.6.2.8 event logs"],
    gdpr: ["Art.30 records of processing"],
    nist_rmf: ["MEASURE-2.1"]
  },
  llm_call: {
    eu_ai_act: ["Art.12 logging", "Art.19 automatically generated logs", "Art.72 post-market monitoring"],
    iso_42001: ["A.6.2.8 event logs", "A.6.2.6 operation & monitoring", "Cl.9.1 monitoring & measurement"],
    gdpr: ["Art.30 records of processing"],
    nist_rmf: ["MEASURE-2.1"]
  },
  tool_call: {
    eu_ai_act: ["Art.12 logging", "Art.19 automatically generated logs"],
    iso_42001: ["A.6.2.8 event logs", "A.6.2.6 operation & monitoring"],
    gdpr: ["Art.30 records of processing"],
    nist_rmf: ["MEASURE-2.1"]
  },
  context_assembly: {
    eu_ai_act: ["Art.12 logging", "Art.13 transparency"],
    iso_42001: ["A.6.2.8 event logs", "A.6.2.6 operation & monitoring"],
    gdpr: ["Art.30 records of processing"],
    nist_rmf: ["MEASURE-2.1"]
  },
  human_oversight: {
    eu_ai_act: ["Art.14 human oversight", "Art.26(5) deployer oversight"],
    iso_42001: ["A.9.2 responsible use", "A.9.4 intended use"],
    gdpr: ["Art.22(3) right to human intervention"],
    nist_rmf: ["MANAGE-2.1"]
  },
  policy_flag: {
    eu_ai_act: ["Art.10 data governance", "Art.12 record-keeping"],
    iso_42001: ["A.7 data for AI systems", "A.6.2.8 event logs", "A.9.2 responsible use"],
    gdpr: ["Art.5(1)(c) data minimisation", "Art.30 records of processing"],
    nist_rmf: ["MANAGE-2.1", "MEASURE-2.1"]
  },
  checkpoint: {
    eu_ai_act: ["Art.12 record-keeping"],
    iso_42001: ["A.6.2.8 event logs"],
    gdpr: ["Art.5(1)(f) integrity and confidentiality", "Art.32 security of processing"],
    nist_rmf: ["MEASURE-2.1"]
  }
}

const PCI = "PCI-DSS 3.3/3.4 (cross-reference)"

/** FORMAT B.4 overlays of `policy_flag` rows, by the detector group named in `data`. */
const overlays: Readonly<Record<string, Partial<Record<Framework, ReadonlyArray<string>>>>> = {
  special_category: { gdpr: ["Art.9 special categories of personal data"], eu_ai_act: ["Art.10(5) special categories for bias correction"] },
  gov_id: { gdpr: ["Art.87 national identification number"] },
  financial: { eu_ai_act: [PCI], iso_42001: [PCI], gdpr: [PCI], nist_rmf: [PCI] },
  pii: { gdpr: ["Art.4(1) personal data"] },
  secret: { gdpr: ["Art.32 security of processing"] },
  credential: { gdpr: ["Art.32 security of processing"] }
}

/** The detector groups a `policy_flag` payload names in `data` (`group`, `groups`, or a finding list). */
const groupsOf = (payload: unknown): Array<string> => {
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
 * the groups its `data` names. Unknown types have none.
 *
 * @since 0.1.0
 * @category mapping
 */
export const forRow = (framework: Framework, type: string, payload: unknown): ReadonlyArray<string> => {
  const row = Object.prototype.hasOwnProperty.call(base, type) ? base[type]![framework] : []
  if (type !== "policy_flag") return row
  const out = [...row]
  for (const g of groupsOf(payload)) {
    const extra = Object.prototype.hasOwnProperty.call(overlays, g) ? overlays[g]![framework] ?? [] : []
    for (const c of extra) if (!out.includes(c)) out.push(c)
  }
  return out
}
