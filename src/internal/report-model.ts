/**
 * The summary of a pack or log that `inspect --json`, `inspect` and the HTML report are all
 * rendered from. One model, computed once by `src/internal/summary.ts`, so the terminal and the
 * page cannot disagree on a count (issue 16: "`inspect --json` and the HTML agree on every count").
 *
 * `inspect --json` prints this object as one JSON document: its shape is a public, documented
 * contract (docs/cli.md). Add fields; never rename or remove one without bumping `version`.
 *
 * Values are never copied from payloads into the model except identifiers a reviewer needs to
 * find an entry (decision ids, actors, model and tool names, control ids, categories): never
 * inputs, outputs, arguments or redacted text.
 *
 * @since 0.1.0
 */

/**
 * The verdict of the command-line verifier, as `verify --json` prints it (docs/cli.md).
 *
 * @since 0.1.0
 * @category models
 */
export interface ReportVerdict {
  readonly ok: boolean
  /** "Ok", or the error's tag ("EditDetected", "DeletionDetected", …). */
  readonly result: string
  /** The one-line text `verify` prints ("ok: 19 entries, head …" or the error's message). */
  readonly message: string
  readonly line?: number | undefined
  readonly seq?: number | undefined
  readonly entries: number
  readonly head: string | null
  /** "verified" | "not-checked" | … as `verify --json` reports it. */
  readonly signatures: string
  /** "signed-header" | "unsigned-header" | "checkpoint" | "none" | … as `verify --json` reports it. */
  readonly completeness: string
  /** "verified" | "absent" | "not-checked", as `verify --json` reports it for an intact input (absent on failure). */
  readonly checkpoints?: string | undefined
  /** Checkpoint entries in the input, as `verify --json` reports it for an intact input. */
  readonly checkpoint_count?: number | undefined
  /** Entries no verified checkpoint covers, as `verify --json` reports it for an intact input. */
  readonly unsealed_tail?: number | undefined
  /** The signature and the completeness basis in plain words, for a person. */
  readonly explanation: ReadonlyArray<string>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ReportCount {
  readonly name: string
  readonly count: number
}

/**
 * One model's usage. Costs are decimal strings as the entries carry them, summed exactly
 * (no binary floating point), with their currency.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReportModelUsage {
  readonly provider: string | null
  readonly model: string
  readonly calls: number
  readonly failures: number
  /** The token sums as numbers: exact up to 2^53 - 1, the nearest double past it (see `*_exact`). */
  readonly input_tokens: number
  readonly output_tokens: number
  /** The token sums as exact decimal integers (summed in bigint, from the numbers as the lines write them). */
  readonly input_tokens_exact?: string | undefined
  readonly output_tokens_exact?: string | undefined
  /** Calls whose `usage.input_tokens` or `usage.output_tokens` is there but not a non-negative integer: left out of the sums. */
  readonly unreadable_tokens?: number | undefined
  /** Calls whose `cost` is there but not `<decimal> <currency>`: left out of the costs. */
  readonly unreadable_costs?: number | undefined
  /** The exact sum when every priced call is in one currency (see `costs`); null when none is priced or they span several. */
  readonly cost: string | null
  readonly currency: string | null
  /** The exact sum in each currency the calls were priced in, by currency name (empty when none is priced). */
  readonly costs?: ReadonlyArray<{ readonly amount: string; readonly currency: string }> | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ReportTool {
  readonly name: string
  readonly calls: number
  readonly failures: number
}

/**
 * A control the evidence touches, with the entries that support it.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReportControl {
  readonly id: string
  readonly framework: string | null
  /** The provision it rests on, from src/Controls.ts, when the id is one of ours. */
  readonly provision: string | null
  /** The anchor of its section in docs/controls.md, when the id is one of ours. */
  readonly anchor: string | null
  readonly entries: number
  /** The seqs of the first supporting entries (at most 50), ascending. */
  readonly seqs: ReadonlyArray<number>
}

/**
 * One row of the decision table.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReportDecision {
  readonly decision_id: string
  readonly actor: string | null
  /** `ts` of the decision's first entry. */
  readonly ts: string
  readonly model_calls: number
  readonly tools: ReadonlyArray<string>
  readonly oversight: boolean
  /** "success" | "failure" | "interrupted" | "open" (no decision_end yet) | another string the entry carries. */
  readonly outcome: string
  /** Every seq of the decision's entries, in order. */
  readonly seqs: ReadonlyArray<number>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ReportSummary {
  readonly version: 1
  readonly source: {
    readonly path: string
    readonly bytes: number
    /** SHA-256 of the file's bytes, hex. */
    readonly sha256: string
    readonly kind: "pack" | "log"
  }
  readonly verdict: ReportVerdict
  readonly system: string | null
  readonly risk_tier: string | null
  readonly framework: string | null
  readonly disclaimer: string
  /**
   * The earliest and the latest `ts` that reads as a time (as the entries write them), whatever the
   * order of the lines: a clock that jumped shows here. `unparseable` counts entries whose `ts`
   * is not a time; `out_of_order` those whose `ts` is earlier than a readable one before them.
   */
  readonly period: {
    readonly first: string | null
    readonly last: string | null
    readonly unparseable?: number | undefined
    readonly out_of_order?: number | undefined
  }
  readonly entries: number
  /** Entry counts by type, every type present, sorted by name. */
  readonly by_type: ReadonlyArray<ReportCount>
  readonly decisions: {
    /** Decisions: distinct string `decision_id`s that have a `decision` entry. */
    readonly total: number
    /** `decision` entries whose id already had one (counted in `by_type`, not again in `total`). */
    readonly repeated_ids?: number | undefined
    /** `decision` entries without a string `decision_id` (counted in `by_type`, not in `total`). */
    readonly without_id?: number | undefined
    readonly with_oversight: number
    /** Counts by outcome, sorted by name ("success", "failure", "interrupted", "open", …). */
    readonly outcomes: ReadonlyArray<ReportCount>
    /**
     * Decisions started per time bucket (UTC), buckets of `bucket`. At most 60 buckets, whatever
     * the timestamps: decisions whose time lies far from the rest, or is not a time, are counted
     * in `outside_chart` instead (the buckets' counts plus `outside_chart` make `total`).
     */
    readonly bucket: "minute" | "hour" | "day" | "week" | "month" | "year"
    readonly over_time: ReadonlyArray<{ readonly start: string; readonly count: number }>
    /** Decisions not drawn in `over_time`: a start time that is not a time, or far outside the bulk. */
    readonly outside_chart?: number | undefined
  }
  readonly flags: {
    readonly total: number
    readonly by_action: ReadonlyArray<ReportCount>
    readonly by_severity: ReadonlyArray<ReportCount>
    /** Categories named by policy flags, most frequent first (ties by name), at most 20. */
    readonly top_categories: ReadonlyArray<ReportCount>
  }
  /** What was redacted: categories and counts, never values; most frequent first. */
  readonly redactions: ReadonlyArray<ReportCount>
  readonly models: ReadonlyArray<ReportModelUsage>
  readonly tools: ReadonlyArray<ReportTool>
  readonly controls: ReadonlyArray<ReportControl>
  readonly decision_rows: ReadonlyArray<ReportDecision>
}
