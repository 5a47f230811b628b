/**
 * The HTML evidence report (issue 16): one self-contained page rendered from a `ReportSummary`
 * (`src/internal/report-model.ts`), the same model `inspect` and `inspect --json` print, so the
 * page and the terminal cannot disagree on a count.
 *
 * What the page holds, and why:
 * - No network, ever: inline CSS and scripts only, no fonts, images or links that load anything,
 *   and a Content-Security-Policy that allows nothing but this page's own scripts and style (by
 *   hash), so even a rendering mistake could not run or load an entry's text.
 * - Every value from the pack or the summary is escaped where it lands: HTML text and attributes
 *   through `escapeHtml`, the JSON blocks through `jsonForScript` (`<`, `>`, `&`, U+2028 and
 *   U+2029 as `\u` escapes, so `</script>` or `<!--` in a payload cannot end or bend the block).
 *   In the browser, values reach the DOM through `textContent` only.
 * - The embedded pack (`#acttrace-pack`, a JSON string of the file's exact text) is re-verified in
 *   the browser after first paint by the inlined `acttraceVerify` (`VERIFIER_SOURCE`), which yields
 *   as it goes; `#browser-verdict` says `pending`, then `ok`, `failed` or `not-embedded` (and
 *   `error` when this browser cannot verify at all, e.g. without WebCrypto: that is not evidence
 *   of tampering and the page does not call it so).
 * - The decision table renders one page at a time from the rows embedded in the summary, so a
 *   100,000-entry pack stays responsive; a row opens its entries, pretty-printed from the embedded
 *   pack with their number lexemes and escapes exactly as written (re-indented, never re-encoded).
 * - Every number shown from the summary carries `data-metric` (its path in `ReportSummary`, an
 *   array element named by its `name`, `model`, `id` or `start`) and `data-value` (the raw value),
 *   so a test can hold the page to `inspect --json`.
 * - Each control links to its text in a reference section of the page: the provision and the
 *   "why" of its section in `docs/controls.md` (published with the package), embedded.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { existsSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { DOCS_PATH } from "../Controls.js"
import type { ReportCount, ReportDecision, ReportSummary } from "./report-model.js"
import { VERIFIER_SOURCE } from "./report-verifier.js"

/**
 * What `renderReport` needs beside the summary.
 *
 * @since 0.1.0
 * @category models
 */
export interface RenderOptions {
  /** The pack's exact text, embedded for the in-browser check, or why it is not embedded. */
  readonly pack: { readonly text: string } | { readonly omitted: string }
  /** C2SP note verifier keys (`report --pubkey`), embedded so the page checks Ed25519 checkpoints. */
  readonly pubkeys: ReadonlyArray<string>
  /** The text of docs/controls.md; read from the package when not given. */
  readonly controlsDoc?: string | undefined
  /** The in-browser verifier; `VERIFIER_SOURCE` when not given (tests give a stand-in). */
  readonly verifierSource?: string | undefined
}

/** Rows of the decision table per page (the browser renders one page at a time). */
const PAGE_SIZE = 50

// ---------------------------------------------------------------------------------------------
// escaping

// CR as a character reference: the HTML parser turns a raw CR (and CR LF) into LF in text and
// attribute values alike, so a name holding one would no longer be the name `inspect --json` prints
const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;", "\r": "&#13;" }

/**
 * Bidirectional controls (U+200E/F, U+202A–E, U+2066–9) as `\u` escapes, as `inspect` and `show`
 * print them: drawn, they reorder the text around them (`\u202eevorppa` reads "approve"), so the
 * page would show something other than the bytes.
 *
 * @since 0.1.0
 * @category escaping
 */
export const escapeBidi = (s: string): string =>
  s.replace(/[\u200E\u200F\u202A-\u202E\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)

/**
 * Text for an HTML attribute value (double- or single-quoted): the exact string comes back from
 * `getAttribute`, bidi controls included (attributes are not drawn; `data-metric` must equal the
 * `inspect --json` path).
 *
 * @since 0.1.0
 * @category escaping
 */
export const escapeAttr = (s: string): string => s.replace(/[&<>"'\r]/g, (c) => HTML_ESCAPES[c]!)

/**
 * Text for HTML text content: escaped as for attributes, and bidi controls shown as escapes.
 *
 * @since 0.1.0
 * @category escaping
 */
export const escapeHtml = (s: string): string => escapeAttr(escapeBidi(s))

/**
 * JSON for a `<script type="application/json">` block: `<`, `>` and `&` as `\u` escapes, so no
 * `</script>`, `<!--` or `<script` can appear in the block whatever the data holds, and U+2028 and
 * U+2029 too (JSON allows them raw; older JavaScript string literals did not).
 *
 * @since 0.1.0
 * @category escaping
 */
export const jsonForScript = (value: unknown): string =>
  JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)

/**
 * JavaScript source for an inline `<script>`: a `</script` or `<!--` in it (in a string or a
 * comment) would end or bend the element, so `<` before them is written `\x3C` where that means
 * the same (strings, regular expressions) — only in such a context can they occur in sane code.
 */
const scriptText = (source: string): string => source.replace(/<(?=\/script|!--)/gi, "\\x3C")

const sha256Base64 = (text: string): string => createHash("sha256").update(text, "utf8").digest("base64")

// ---------------------------------------------------------------------------------------------
// docs/controls.md

let cachedDoc: string | null | undefined

/**
 * docs/controls.md of this package: found by walking up from this module (src/internal, dist/internal
 * or the CLI's bundle in dist/) to the folder that holds it. `null` when it is not there.
 */
const packageControlsDoc = (): string | null => {
  if (cachedDoc !== undefined) return cachedDoc
  cachedDoc = null
  try {
    let dir = dirname(fileURLToPath(import.meta.url))
    for (let i = 0; i < 5; i++) {
      const candidate = join(dir, DOCS_PATH)
      if (existsSync(candidate)) {
        cachedDoc = readFileSync(candidate, "utf8")
        break
      }
      const up = dirname(dir)
      if (up === dir) break
      dir = up
    }
  } catch {
    cachedDoc = null
  }
  return cachedDoc
}

interface DocSection {
  readonly anchor: string
  readonly heading: string
  readonly body: string
}

/** The per-control sections of docs/controls.md: `<a id="…"></a>`, a `###` heading, its text. */
export const controlSections = (doc: string): ReadonlyMap<string, DocSection> => {
  const out = new Map<string, DocSection>()
  const lines = doc.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const a = /^<a id="([^"]+)"><\/a>\s*$/.exec(lines[i]!)
    if (a === null) continue
    const heading = /^###\s+(.*)$/.exec(lines[i + 1] ?? "")
    if (heading === null) continue
    const body: Array<string> = []
    let j = i + 2
    for (; j < lines.length; j++) {
      const l = lines[j]!
      if (/^<a id="/.test(l) || /^#{1,3}\s/.test(l)) break
      body.push(l)
    }
    out.set(a[1]!, { anchor: a[1]!, heading: heading[1]!.replace(/^`|`$/g, ""), body: body.join("\n").trim() })
    i = j - 1
  }
  return out
}

const refId = (anchor: string): string => `ref-${anchor}`

/**
 * The small Markdown of docs/controls.md (paragraphs, `-` lists with continuation lines, code,
 * emphasis, links) as HTML. Links to a section embedded in the page become in-page links; any
 * other link is shown as its text (the page loads and links nothing outside itself).
 */
const markdown = (text: string, embedded: ReadonlySet<string>): string => {
  const inline = (s: string): string =>
    s.split(/(`[^`]*`)/).map((part) => {
      if (part.startsWith("`") && part.endsWith("`") && part.length >= 2) return `<code>${escapeHtml(part.slice(1, -1))}</code>`
      let h = escapeHtml(part)
      h = h.replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>").replace(/\*([^*]+)\*/g, "<em>$1</em>")
      return h
    }).join("")
  const withLinks = (s: string): string => {
    // links first (their text may hold code), then the rest inline
    const out: Array<string> = []
    const re = /\[([^\]]+)\]\(([^)\s]+)\)/g
    let last = 0
    for (let m = re.exec(s); m !== null; m = re.exec(s)) {
      out.push(inline(s.slice(last, m.index)))
      const target = m[2]!
      const label = inline(m[1]!)
      out.push(target.startsWith("#") && embedded.has(target.slice(1)) ? `<a href="#${escapeHtml(refId(target.slice(1)))}">${label}</a>` : label)
      last = m.index + m[0].length
    }
    out.push(inline(s.slice(last)))
    return out.join("")
  }
  const blocks: Array<string> = []
  let para: Array<string> = []
  let items: Array<Array<string>> = []
  const flush = () => {
    if (para.length > 0) blocks.push(`<p>${withLinks(para.join(" "))}</p>`)
    if (items.length > 0) blocks.push(`<ul>${items.map((it) => `<li>${withLinks(it.join(" "))}</li>`).join("")}</ul>`)
    para = []
    items = []
  }
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd()
    if (line.trim() === "") {
      flush()
      continue
    }
    const item = /^\s*[-*]\s+(.*)$/.exec(line)
    if (item !== null) {
      if (para.length > 0) flush()
      items.push([item[1]!])
    } else if (items.length > 0 && /^\s+/.test(line)) items[items.length - 1]!.push(line.trim())
    else {
      if (items.length > 0) flush()
      para.push(line.trim())
    }
  }
  flush()
  return blocks.join("\n")
}

// ---------------------------------------------------------------------------------------------
// pieces of the page

const num = (n: number): string => (Number.isFinite(n) ? n.toLocaleString("en-US") : String(n))

/** A number (or string) of the summary as shown, with the path a test reads it by. */
const metric = (path: string, value: number | string, shown?: string): string =>
  `<span class="metric" data-metric="${escapeAttr(path)}" data-value="${escapeAttr(String(value))}">${escapeHtml(shown ?? (typeof value === "number" ? num(value) : value))}</span>`

const orNone = (path: string, value: string | null, none = "not stated"): string =>
  value === null ? `<span class="none">${escapeHtml(none)}</span>` : metric(path, value)

const countTable = (caption: string, path: string, rows: ReadonlyArray<ReportCount>, nameHeading: string, empty: string): string =>
  rows.length === 0
    ? `<p class="none"><strong>${escapeHtml(caption)}</strong>: ${escapeHtml(empty)}</p>`
    : `<table class="counts"><caption>${escapeHtml(caption)}</caption><thead><tr><th scope="col">${escapeHtml(nameHeading)}</th><th scope="col" class="n">count</th></tr></thead><tbody>${
      rows.map((r) => `<tr><td>${escapeHtml(r.name)}</td><td class="n">${metric(`${path}.${r.name}`, r.count)}</td></tr>`).join("")
    }</tbody></table>`

/**
 * The completeness bases that are authenticated: a header signed with the key, a checkpoint signed
 * with a trusted Ed25519 key, or a head given out of band. Only these let the page say "complete";
 * an unsigned header can be rewritten by whoever cut the end off, and "none" claims nothing.
 */
const AUTHENTICATED: ReadonlySet<string> = new Set(["signed-header", "signed-checkpoint", "expected-head"])

/** Why a completeness basis that is not authenticated establishes nothing (the words the browser uses too). */
const incompleteBecause = (completeness: string): string =>
  completeness === "unsigned-header"
    ? "the header's entry count is not authenticated: no key was given to check its signature, and whoever cut entries off the end could rewrite it"
    : completeness === "none"
    ? "nothing states how many entries there should be, so entries removed from the end would not show"
    : `completeness is ${completeness}, which is not authenticated`

const short = (hash: string | null): string => (hash === null ? "none" : hash.length > 16 ? `${hash.slice(0, 12)}…` : hash)

const verdictSection = (s: ReportSummary, options: RenderOptions): string => {
  const v = s.verdict
  const where = [
    v.line !== undefined ? `line ${metric("verdict.line", v.line)}` : "",
    v.seq !== undefined ? `seq ${metric("verdict.seq", v.seq)}` : ""
  ].filter((x) => x !== "").join(", ")
  const headline = v.ok
    ? AUTHENTICATED.has(v.completeness)
      ? `Intact and complete: ${metric("verdict.entries", v.entries)} entries verified`
      : `Intact; completeness not established (${escapeHtml(incompleteBecause(v.completeness))}): ${metric("verdict.entries", v.entries)} entries verified`
    : `Failed: ${metric("verdict.result", v.result)}${where === "" ? "" : ` at ${where}`}`
  const embedded = "text" in options.pack
  const pubkeys = options.pubkeys.length === 0
    ? ""
    : `<p>Ed25519 checkpoints are checked against ${options.pubkeys.length === 1 ? "this key" : "these keys"}: ${options.pubkeys.map((k) => `<code class="key">${escapeHtml(k)}</code>`).join(" ")}</p>`
  return `<section id="verdict-section" aria-labelledby="verdict-heading">
<h2 id="verdict-heading">Verdict</h2>
<div id="verdict" class="verdict ${v.ok ? "good" : "bad"}" data-ok="${v.ok ? "true" : "false"}">
<p class="headline">${headline}</p>
<p class="message">${escapeHtml(v.message)}</p>
<dl class="facts">
<dt>result</dt><dd>${metric("verdict.result", v.result)}</dd>
<dt>entries</dt><dd>${metric("verdict.entries", v.entries)}</dd>
<dt>head</dt><dd>${v.head === null ? `<span class="none">none</span>` : `<code class="hash">${metric("verdict.head", v.head)}</code>`}</dd>
<dt>signatures</dt><dd>${metric("verdict.signatures", v.signatures)}</dd>
<dt>completeness</dt><dd>${metric("verdict.completeness", v.completeness)}</dd>${
    v.checkpoints === undefined ? "" : `\n<dt>checkpoints</dt><dd>${metric("verdict.checkpoints", v.checkpoints)}${
      v.checkpoint_count === undefined ? "" : ` (${metric("verdict.checkpoint_count", v.checkpoint_count)} in the input${
        v.unsealed_tail === undefined ? "" : `; entries no verified checkpoint covers: ${metric("verdict.unsealed_tail", v.unsealed_tail)}`
      })`
    }</dd>`
  }
</dl>
${v.explanation.length === 0 ? "" : `<ul class="explanation">${v.explanation.map((e) => `<li>${escapeHtml(e)}</li>`).join("")}</ul>`}
<p class="note">This verdict was computed by <code>acttrace</code> on the machine that made this report. The check below does not trust it.</p>
</div>
<div id="browser-check" class="verdict pending">
<h3>Checked again in this browser</h3>
<p id="browser-verdict" data-verdict="${embedded ? "pending" : "not-embedded"}" role="status" aria-live="polite">${
    embedded
      ? "Pending: the embedded pack is verified in this browser after the page has loaded (this needs JavaScript)."
      : `Not embedded: ${escapeHtml((options.pack as { readonly omitted: string }).omitted)}. Verify the pack itself with acttrace verify.`
  }</p>
${embedded ? `<p id="browser-recount" class="note">Once the pack verifies, these figures are re-counted in this browser from the verified pack and compared with the report: the entries, the entries by type, the decisions, those with human oversight, the outcomes, the policy-flag total, every row of the decision table (id, actor, time, model calls, tools, oversight, outcome, entries), and the head and entry count of the verdict above. Any difference makes this check fail. The rest (the chart, flags by action, severity and category, redactions, model and tool usage, controls) come from the report's summary and are not re-checked here. <span id="browser-recount-result"></span></p>
<p class="progress-line"><progress id="browser-progress" max="1" value="0"></progress> <span id="browser-progress-text"></span></p>
<ul id="browser-details" class="explanation"></ul>
<form id="key-form" class="key-form" autocomplete="off">
<label for="key-input">HMAC key (checks the entries' signatures and the seal; stays in this page, sent nowhere)</label>
<input id="key-input" type="password" autocomplete="off" spellcheck="false" disabled>
<button id="key-button" type="submit" disabled>Verify with this key</button>
</form>
${pubkeys}` : ""}
</div>
</section>`
}

/** The entries whose time the period could not read, or that stand before an earlier one. */
const periodNotes = (s: ReportSummary): string => {
  const notes: Array<string> = []
  const bad = s.period.unparseable ?? 0
  const back = s.period.out_of_order ?? 0
  if (bad > 0) notes.push(`${metric("period.unparseable", bad)} ${bad === 1 ? "entry has a ts that is" : "entries have a ts that is"} not a time`)
  if (back > 0) notes.push(`${metric("period.out_of_order", back)} ${back === 1 ? "entry is" : "entries are"} earlier than one before ${back === 1 ? "it" : "them"}`)
  return notes.length === 0 ? "" : `\n<dt>clock</dt><dd>${notes.join("; ")}</dd>`
}

const overviewSection = (s: ReportSummary): string => `<section id="overview" aria-labelledby="overview-heading">
<h2 id="overview-heading">System and period</h2>
<dl class="facts">
<dt>system</dt><dd>${orNone("system", s.system)}</dd>
<dt>risk tier</dt><dd>${orNone("risk_tier", s.risk_tier)}</dd>
<dt>framework</dt><dd>${orNone("framework", s.framework, "none (exported without --framework)")}</dd>
<dt>earliest time</dt><dd>${orNone("period.first", s.period.first, "no entries")}</dd>
<dt>latest time</dt><dd>${orNone("period.last", s.period.last, "no entries")}</dd>${periodNotes(s)}
<dt>entries</dt><dd>${metric("entries", s.entries)}</dd>
<dt>file</dt><dd><code>${metric("source.path", s.source.path)}</code> (${metric("source.kind", s.source.kind)}, ${metric("source.bytes", s.source.bytes)} bytes)</dd>
<dt>SHA-256</dt><dd><code class="hash">${metric("source.sha256", s.source.sha256)}</code></dd>
</dl>
${countTable("Entries by type", "by_type", s.by_type, "type", "no entries")}
</section>`

const chart = (s: ReportSummary): string => {
  const data = s.decisions.over_time
  const W = 720
  const H = 220
  // room for the largest count's label on the axis (12 px text, about 7.5 px a character)
  const left = 14 + Math.ceil(7.5 * num(data.reduce((m, d) => Math.max(m, d.count), 0)).length)
  const bottom = 34
  const top = 12
  const right = 8
  const max = data.reduce((m, d) => Math.max(m, d.count), 0)
  const plotW = W - left - right
  const plotH = H - top - bottom
  const title = `<title>Decisions started per ${escapeHtml(s.decisions.bucket)} (UTC)</title>`
  if (data.length === 0 || max === 0) {
    return `<svg id="decisions-chart" role="img" viewBox="0 0 ${W} ${H}" width="100%" aria-label="No decisions">${title}<text x="${W / 2}" y="${H / 2}" text-anchor="middle" class="axis">no decisions</text></svg>`
  }
  const step = plotW / data.length
  // a few buckets would otherwise be drawn as slabs
  const barW = Math.max(1, Math.min(step * 0.8, 48))
  const bars = data.map((d, i) => {
    const h = (d.count / max) * plotH
    const x = left + i * step + (step - barW) / 2
    const y = top + plotH - h
    return `<rect class="bar" x="${x.toFixed(2)}" y="${y.toFixed(2)}" width="${barW.toFixed(2)}" height="${h.toFixed(2)}" data-metric="${escapeAttr(`decisions.over_time.${d.start}`)}" data-value="${d.count}"><title>${escapeHtml(`${d.start}: ${num(d.count)} decision${d.count === 1 ? "" : "s"}`)}</title></rect>`
  }).join("")
  const label = (start: string) => escapeHtml(start.replace(/T00:00(:00(\.0+)?)?(Z|\+00:00)$/, "").replace(/:00(\.0+)?(Z|\+00:00)$/, "Z"))
  const first = data[0]!
  const last = data[data.length - 1]!
  return `<svg id="decisions-chart" role="img" viewBox="0 0 ${W} ${H}" width="100%" aria-labelledby="decisions-chart-title" data-buckets="${data.length}">
<title id="decisions-chart-title">Decisions started per ${escapeHtml(s.decisions.bucket)} (UTC), ${escapeHtml(first.start)} to ${escapeHtml(last.start)}; at most ${num(max)} in one ${escapeHtml(s.decisions.bucket)}</title>
<line class="axis-line" x1="${left}" y1="${top + plotH}" x2="${W - right}" y2="${top + plotH}"/>
<line class="axis-line" x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}"/>
<text class="axis" x="${left - 6}" y="${top + 10}" text-anchor="end">${num(max)}</text>
<text class="axis" x="${left - 6}" y="${top + plotH}" text-anchor="end">0</text>
${bars}
${data.length === 1
    ? `<text class="axis" x="${(left + step / 2).toFixed(2)}" y="${H - 12}" text-anchor="middle">${label(first.start)}</text>`
    : `<text class="axis" x="${left}" y="${H - 12}" text-anchor="start">${label(first.start)}</text>`}
${data.length > 1 ? `<text class="axis" x="${W - right}" y="${H - 12}" text-anchor="end">${label(last.start)}</text>` : ""}
</svg>`
}

const decisionsSection = (s: ReportSummary): string => {
  const d = s.decisions
  const share = d.total === 0 ? "no decisions" : `${((d.with_oversight / d.total) * 100).toFixed(1)} %`
  return `<section id="decisions" aria-labelledby="decisions-heading">
<h2 id="decisions-heading">Decisions</h2>
<p class="big">${metric("decisions.total", d.total)} decisions; ${metric("decisions.with_oversight", d.with_oversight)} with human oversight (<span class="share" data-share="oversight">${escapeHtml(share)}</span>).</p>
<figure>
${chart(s)}
<figcaption>Decisions started per ${escapeHtml(d.bucket)} (UTC).${
    (d.outside_chart ?? 0) > 0
      ? ` ${metric("decisions.outside_chart", d.outside_chart!)} ${d.outside_chart === 1 ? "decision is" : "decisions are"} not drawn: ${d.outside_chart === 1 ? "its" : "their"} time is not a time or lies far from the rest.`
      : ""
  }</figcaption>
</figure>
${countTable("Outcomes", "decisions.outcomes", d.outcomes, "outcome", "no decisions")}
</section>`
}

const flagsSection = (s: ReportSummary): string => `<section id="flags" aria-labelledby="flags-heading">
<h2 id="flags-heading">Policy flags and redactions</h2>
<p class="big">${metric("flags.total", s.flags.total)} policy flags.</p>
<div class="cols">
${countTable("Flags by action", "flags.by_action", s.flags.by_action, "action", "none")}
${countTable("Flags by severity", "flags.by_severity", s.flags.by_severity, "severity", "none")}
${countTable("Top categories", "flags.top_categories", s.flags.top_categories, "category", "none named")}
</div>
<h3>Redacted</h3>
<p>What was replaced before hashing, by category: counts only, never the values (they were never written).</p>
${countTable("Redactions by category", "redactions", s.redactions, "category", "nothing was redacted")}
</section>`

const modelsSection = (s: ReportSummary): string => {
  const models = s.models.length === 0
    ? `<p class="none">No model calls.</p>`
    : `<table class="counts"><caption>Model calls by model</caption><thead><tr><th scope="col">model</th><th scope="col">provider</th><th scope="col" class="n">calls</th><th scope="col" class="n">failures</th><th scope="col" class="n">input tokens</th><th scope="col" class="n">output tokens</th><th scope="col" class="n">cost</th></tr></thead><tbody>${
      s.models.map((m) => {
        // a model's name, or `provider/model` when two providers serve a model of that name
        const shared = s.models.filter((x) => x.model === m.model).length > 1
        const p = `models.${shared ? `${m.provider ?? ""}/${m.model}` : m.model}`
        // one exact sum per currency: calls priced in two currencies are not added together
        const costs = m.costs ?? []
        const cost = m.cost !== null
          ? `${metric(`${p}.cost`, m.cost)}${m.currency === null ? "" : ` ${metric(`${p}.currency`, m.currency)}`}`
          : costs.length > 0
          ? costs.map((c) => `${metric(`${p}.costs.${c.currency}.amount`, c.amount)} ${escapeHtml(c.currency)}`).join(" + ")
          : `<span class="none">not priced</span>`
        return `<tr><td>${escapeHtml(m.model)}</td><td>${m.provider === null ? `<span class="none">unknown</span>` : escapeHtml(m.provider)}</td><td class="n">${metric(`${p}.calls`, m.calls)}</td><td class="n">${metric(`${p}.failures`, m.failures)}</td><td class="n">${metric(`${p}.input_tokens`, m.input_tokens)}</td><td class="n">${metric(`${p}.output_tokens`, m.output_tokens)}</td><td class="n">${cost}</td></tr>`
      }).join("")
    }</tbody></table>`
  const tools = s.tools.length === 0
    ? `<p class="none">No tool calls.</p>`
    : `<table class="counts"><caption>Tool calls by tool</caption><thead><tr><th scope="col">tool</th><th scope="col" class="n">calls</th><th scope="col" class="n">failures</th></tr></thead><tbody>${
      s.tools.map((t) => `<tr><td>${escapeHtml(t.name)}</td><td class="n">${metric(`tools.${t.name}.calls`, t.calls)}</td><td class="n">${metric(`tools.${t.name}.failures`, t.failures)}</td></tr>`).join("")
    }</tbody></table>`
  return `<section id="models" aria-labelledby="models-heading">
<h2 id="models-heading">Model and tool usage</h2>
${models}
${tools}
</section>`
}

const controlsSection = (s: ReportSummary, sections: ReadonlyMap<string, DocSection>, embedded: boolean): string => {
  if (s.controls.length === 0) {
    return `<section id="controls" aria-labelledby="controls-heading"><h2 id="controls-heading">Controls</h2><p class="none">No controls: the pack carries no control ids (exported without a framework, or a log rather than a pack).</p></section>`
  }
  const items = s.controls.map((c) => {
    const text = c.anchor !== null && sections.has(c.anchor)
      ? `<a href="#${escapeHtml(refId(c.anchor))}">${escapeHtml(c.provision ?? c.id)}: what it asks and why these entries support it</a>`
      : `<span class="none">not in acttrace's current mapping (a pack of an earlier revision or another implementation): no text in ${escapeHtml(DOCS_PATH)}</span>`
    const more = c.entries > c.seqs.length ? ` (the first ${num(c.seqs.length)} of ${num(c.entries)})` : ""
    const seqs = c.seqs.length === 0
      ? ""
      : `<details class="supporting"><summary>Supporting entries${escapeHtml(more)}</summary><p class="seqs">${
        c.seqs.map((q) => `<button type="button" class="seq" data-seq="${q}"${embedded ? "" : " disabled"}>seq ${q}</button>`).join(" ")
      }</p><div class="entry-view" hidden></div></details><p class="seqs-print">Supporting entries${escapeHtml(more)}: ${c.seqs.map((q) => `seq ${q}`).join(", ")}</p>`
    return `<li class="control" data-control="${escapeAttr(c.id)}"><p><strong>${escapeHtml(c.id)}</strong>${c.framework === null ? "" : ` <span class="fw">${escapeHtml(c.framework)}</span>`}: ${metric(`controls.${c.id}.entries`, c.entries)} supporting entr${c.entries === 1 ? "y" : "ies"}. ${text}</p>${seqs}</li>`
  }).join("\n")
  return `<section id="controls" aria-labelledby="controls-heading">
<h2 id="controls-heading">Controls</h2>
<p>The control ids the pack's rows carry, each with the entries that support it. Starting templates, not certified mappings: see the disclaimer.</p>
<ul class="controls">
${items}
</ul>
</section>`
}

const referenceSection = (s: ReportSummary, sections: ReadonlyMap<string, DocSection>, docFound: boolean): string => {
  const used = [...new Set(s.controls.map((c) => c.anchor).filter((a): a is string => a !== null && sections.has(a)))]
  if (used.length === 0) {
    return s.controls.length === 0 || docFound
      ? ""
      : `<section id="reference" aria-labelledby="reference-heading"><h2 id="reference-heading">Control texts</h2><p class="none">${escapeHtml(DOCS_PATH)} was not found beside acttrace when this report was made: the texts are in that file of the acttrace package.</p></section>`
  }
  const embedded = new Set(used)
  return `<section id="reference" aria-labelledby="reference-heading">
<h2 id="reference-heading">Control texts</h2>
<p>From acttrace's <code>${escapeHtml(DOCS_PATH)}</code>: the provision each control rests on, and why each entry type that carries it supports it.</p>
${used.map((a) => {
    const sec = sections.get(a)!
    return `<article class="reference" id="${escapeHtml(refId(a))}"><h3><code>${escapeHtml(sec.heading)}</code></h3>${markdown(sec.body, embedded)}<p class="src">${escapeHtml(`${DOCS_PATH}#${a}`)}</p></article>`
  }).join("\n")}
</section>`
}

const rowHtml = (r: ReportDecision): string =>
  `<tr data-decision="${escapeAttr(r.decision_id)}"><td><button type="button" class="open" aria-expanded="false" disabled>${escapeHtml(r.decision_id)}</button></td><td>${
    r.actor === null ? `<span class="none">—</span>` : escapeHtml(r.actor)
  }</td><td class="ts">${escapeHtml(r.ts)}</td><td class="n">${num(r.model_calls)}</td><td>${escapeHtml(r.tools.join(", "))}</td><td>${r.oversight ? "yes" : "no"}</td><td>${escapeHtml(r.outcome)}</td></tr>`

const tableSection = (s: ReportSummary, embedded: boolean): string => {
  const rows = s.decision_rows
  const first = rows.slice(0, PAGE_SIZE)
  const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE))
  return `<section id="decision-list" aria-labelledby="decision-list-heading">
<h2 id="decision-list-heading">Decision table</h2>
<p>${num(rows.length)} decisions. <span class="screen-only">${embedded ? "Open a row to see the decision's entries, in order, from the embedded pack." : "The pack is not embedded in this report: <code>acttrace show PACK --decision ID</code> prints a decision's entries."}</span></p>
<p class="search-line"><label for="decision-search">Search (decision id, actor, time, tool, outcome; several words must all match)</label>
<input id="decision-search" type="search" autocomplete="off" spellcheck="false" placeholder="needs JavaScript" disabled aria-controls="decision-table"></p>
<table id="decision-table" class="decisions" data-page-size="${PAGE_SIZE}">
<thead><tr><th scope="col">decision</th><th scope="col">actor</th><th scope="col">time</th><th scope="col" class="n">model calls</th><th scope="col">tools</th><th scope="col">oversight</th><th scope="col">outcome</th></tr></thead>
<tbody>${first.map(rowHtml).join("")}</tbody>
</table>
<p id="table-print-note" class="print-only">${escapeHtml(rows.length === 0 ? "No decisions." : `Printed: the decision table's current page only (rows 1–${num(first.length)} of ${num(rows.length)}). acttrace inspect PACK lists every decision.`)}</p>
<nav id="decision-pages" aria-label="Decision table pages"><button type="button" id="page-prev" disabled>Previous</button> <span id="page-status">page 1 of ${num(pages)}, ${num(rows.length)} decisions</span> <button type="button" id="page-next" disabled>Next</button></nav>
</section>`
}

// ---------------------------------------------------------------------------------------------
// style and script

const STYLE = `
:root{--fg:#1b1f24;--muted:#57606a;--bg:#fff;--line:#d0d7de;--soft:#f6f8fa;--good:#1a7f37;--good-bg:#dafbe1;--bad:#cf222e;--bad-bg:#ffebe9;--warn-bg:#fff8c5;--bar:#0969da}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--bg:#0d1117;--line:#3d444d;--soft:#151b23;--good:#3fb950;--good-bg:#12261e;--bad:#f85149;--bad-bg:#2d1214;--warn-bg:#2e2a14;--bar:#4493f8}}
*{box-sizing:border-box}
html{color-scheme:light dark}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI","DejaVu Sans","Liberation Sans",Arial,sans-serif}
header,main,footer{max-width:1100px;margin:0 auto;padding:0 20px}
header{padding-top:20px}
h1{font-size:1.6em;margin:.2em 0}
h2{font-size:1.3em;border-bottom:1px solid var(--line);padding-bottom:.2em;margin-top:1.6em}
h3{font-size:1.05em}
code,pre,.hash,.key{font-family:"DejaVu Sans Mono","Liberation Mono",Menlo,Consolas,monospace;font-size:.9em}
.hash,.key{word-break:break-all}
nav.toc ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.3em 1em}
.verdict{border:1px solid var(--line);border-radius:6px;padding:12px 16px;margin:12px 0}
.verdict.good{border-color:var(--good);background:var(--good-bg)}
.verdict.bad{border-color:var(--bad);background:var(--bad-bg)}
.verdict .headline{font-size:1.3em;font-weight:700;margin:.1em 0}
.good .headline{color:var(--good)}.bad .headline{color:var(--bad)}
#browser-verdict{font-weight:600}
#browser-verdict[data-verdict=ok]{color:var(--good)}
#browser-verdict[data-verdict=failed]{color:var(--bad)}
#browser-check.ok{border-color:var(--good)}#browser-check.failed{border-color:var(--bad);background:var(--bad-bg)}#browser-check.warn{background:var(--warn-bg)}
.note,.src,.none{color:var(--muted)}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em;margin:.6em 0}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;min-width:0}
.big{font-size:1.1em}
.cols{display:flex;flex-wrap:wrap;gap:0 24px;align-items:flex-start}
table{border-collapse:collapse;margin:.6em 0}
caption{text-align:left;font-weight:600;padding:.2em 0}
td,dd,.entry-head,caption{unicode-bidi:isolate}
th,td{border-bottom:1px solid var(--line);padding:4px 10px;text-align:left;vertical-align:top}
th{background:var(--soft)}
.n{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:.6em 0}
#decisions-chart{max-width:100%;height:auto;display:block}
#decisions-chart .bar{fill:var(--bar)}
#decisions-chart .axis{fill:var(--muted);font-size:12px;font-family:inherit}
#decisions-chart .axis-line{stroke:var(--line);stroke-width:1}
figcaption{color:var(--muted);font-size:.9em}
ul.controls{padding-left:1.2em}
.control p{margin:.3em 0}
.fw{color:var(--muted);font-size:.9em}
button{font:inherit;font-size:.9em;padding:2px 8px;border:1px solid var(--line);border-radius:4px;background:var(--soft);color:var(--fg);cursor:pointer}
button[disabled]{cursor:default;opacity:.6}
button.seq{margin:2px 0}
input{font:inherit;padding:4px 8px;border:1px solid var(--line);border-radius:4px;background:var(--bg);color:var(--fg)}
#decision-search{width:min(100%,420px);display:block;margin-top:.3em}
.key-form{display:flex;flex-wrap:wrap;gap:.4em;align-items:center;margin-top:.6em}
.key-form label{flex-basis:100%}
table.decisions{width:100%;table-layout:auto}
table.decisions td{overflow-wrap:anywhere}
table.decisions td.ts{white-space:nowrap;overflow-wrap:normal;font-variant-numeric:tabular-nums}
table.decisions button.open{font-family:"DejaVu Sans Mono","Liberation Mono",Menlo,Consolas,monospace;font-size:.85em;text-align:left;word-break:break-all}
tr.entries td{background:var(--soft)}
.entry-head{font-weight:600;margin:.6em 0 .2em}
pre{background:var(--soft);border:1px solid var(--line);border-radius:4px;padding:8px;overflow:auto;max-height:480px;white-space:pre-wrap;word-break:break-word}
#decision-pages{display:flex;gap:.6em;align-items:center;margin:.4em 0 1em}
.reference{border-left:3px solid var(--line);padding-left:12px;margin:1em 0}
.reference:target{border-left-color:var(--bar)}
.disclaimer{border:1px solid var(--line);border-radius:6px;padding:12px 16px;background:var(--soft)}
footer{color:var(--muted);font-size:.9em;padding-bottom:30px}
.print-only,.seqs-print{display:none}
@media (max-width:640px){table.decisions th:nth-child(5),table.decisions td:nth-child(5){display:none}body{font-size:14px}}
@media print{
@page{margin:14mm}
:root{--fg:#000;--muted:#444;--bg:#fff;--line:#999;--soft:#fff;--good-bg:#fff;--bad-bg:#fff;--warn-bg:#fff;--bar:#333}
body{font-size:10.5pt}
header,main,footer{max-width:none;padding:0}
nav.toc,.key-form,#decision-pages,.search-line,progress,button.open[aria-expanded=false]::after{display:none}
button{border:none;background:none;padding:0;color:#000;opacity:1}
section,figure,table,tr,.reference{break-inside:avoid-page}
table.decisions,#reference{break-inside:auto}
h2{break-after:avoid-page}
details.supporting:not([open]),.screen-only{display:none}
.print-only,.seqs-print{display:block}
pre{max-height:none;overflow:visible;border-color:#999}
a{color:#000;text-decoration:underline}
}
`

/**
 * The page's own script: the decision table (search, pages, a row's entries from the embedded
 * pack), the controls' supporting entries, and the in-browser verification after first paint.
 * Plain ES2019 on purpose (runs in any current browser), written to reach the DOM through
 * `textContent` only.
 */
const APP = String.raw`(function () {
"use strict";
var doc = document;
function byId(id) { return doc.getElementById(id); }
function readJson(id) { var el = byId(id); return el === null ? null : JSON.parse(el.textContent); }
// bidi controls drawn would reorder the text around them: shown as escapes, as inspect prints them
function shownText(t) { return String(t).replace(/[\u200E\u200F\u202A-\u202E\u2066-\u2069]/g, function (c) { return "\\u" + ("000" + c.charCodeAt(0).toString(16)).slice(-4); }); }
function el(tag, cls, text) { var e = doc.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = shownText(text); return e; }
function fmt(n) { return typeof n === "number" ? n.toLocaleString("en-US") : String(n); }

var summary = readJson("acttrace-summary");
var config = readJson("acttrace-config");
var rows = summary.decision_rows;
var PAGE = config.page_size;

// ---- the embedded pack, parsed once, and its lines found on demand
var packText = null;
// null while the document is still loading: the pack's element grows as the parser reads it
function pack() {
  if (packText === null && config.embedded && doc.readyState !== "loading") {
    var e = byId("acttrace-pack");
    if (e !== null) packText = JSON.parse(e.textContent);
  }
  return packText;
}
var starts = null;
function lineStarts() {
  if (starts !== null) return starts;
  var t = pack(); starts = [];
  var i = 0;
  while (i < t.length) { starts.push(i); var j = t.indexOf("\n", i); if (j < 0) break; i = j + 1; }
  return starts;
}
function lineAt(k) {
  var t = pack(), s = lineStarts();
  var end = k + 1 < s.length ? s[k + 1] - 1 : t.length;
  var line = t.slice(s[k], end);
  return line.charAt(line.length - 1) === "\r" ? line.slice(0, -1) : line;
}
function seqOf(k) {
  try { var o = JSON.parse(lineAt(k)); return o !== null && typeof o === "object" && typeof o.seq === "number" ? o.seq : null; } catch (e) { return null; }
}
var firstSeq;
function findLine(seq) {
  var s = lineStarts(), n = s.length;
  if (firstSeq === undefined) { firstSeq = null; for (var k = 0; k < Math.min(n, 3); k++) { var q = seqOf(k); if (q !== null) { firstSeq = { line: k, seq: q }; break; } } }
  if (firstSeq !== null) {
    var guess = firstSeq.line + (seq - firstSeq.seq);
    if (guess >= 0 && guess < n && seqOf(guess) === seq) return guess;
  }
  for (var i = 0; i < n; i++) if (seqOf(i) === seq) return i;
  return -1;
}
// re-indented, never re-encoded: number lexemes and string escapes stay as the line wrote them
function pretty(s) {
  var out = [], depth = 0, i = 0, n = s.length;
  // indentation capped at 32 levels: deeper nesting would make the output grow with the square of
  // the depth (a 6 KB entry nested 3,000 deep would print as megabytes of spaces)
  var pads = ["\n"]; for (var q = 1; q <= 32; q++) pads.push(pads[q - 1] + "  ");
  function nl() { out.push(pads[Math.min(depth, 32)]); }
  while (i < n) {
    var c = s.charAt(i);
    if (c === '"') {
      var j = i + 1;
      while (j < n) { var d = s.charAt(j); if (d === "\\") j += 2; else if (d === '"') break; else j++; }
      out.push(s.slice(i, j + 1)); i = j + 1; continue;
    }
    if (c === "{" || c === "[") {
      var k = i + 1; while (k < n && /\s/.test(s.charAt(k))) k++;
      var close = c === "{" ? "}" : "]";
      if (s.charAt(k) === close) { out.push(c + close); i = k + 1; continue; }
      depth++; out.push(c); nl(); i++; continue;
    }
    if (c === "}" || c === "]") { depth = Math.max(0, depth - 1); nl(); out.push(c); i++; continue; }
    if (c === ",") { out.push(","); nl(); i++; continue; }
    if (c === ":") { out.push(": "); i++; continue; }
    if (/\s/.test(c)) { i++; continue; }
    var m = i; while (m < n && !/[\s,:{}\[\]"]/.test(s.charAt(m))) m++;
    out.push(s.slice(i, m)); i = m;
  }
  return out.join("");
}
function entryBlock(seq) {
  var box = el("div", "entry");
  if (config.embedded && pack() === null) {
    box.appendChild(el("p", "entry-head", "seq " + seq + ": the embedded pack is still loading; open it again in a moment"));
    return box;
  }
  var k = config.embedded ? findLine(seq) : -1;
  if (k < 0) {
    box.appendChild(el("p", "entry-head", "seq " + seq + ": " + (config.embedded ? "not found in the embedded pack" : "the pack is not embedded in this report")));
    return box;
  }
  var line = lineAt(k), type = "";
  try { var o = JSON.parse(line); type = o && typeof o.type === "string" ? o.type : ""; var ts = o && typeof o.ts === "string" ? o.ts : ""; } catch (e) { type = "(not valid JSON)"; }
  box.appendChild(el("p", "entry-head", "seq " + seq + (type ? " · " + type : "") + (ts ? " · " + ts : "") + " · line " + (k + 1) + " of the pack"));
  box.appendChild(el("pre", "entry-json", pretty(line)));
  return box;
}

// ---- the decision table
var tbody = doc.querySelector("#decision-table tbody");
var search = byId("decision-search");
var prev = byId("page-prev"), next = byId("page-next"), status = byId("page-status");
var shown = null; // indices of matching rows, null for all
var page = 0;
var hay = null;
function haystack(i) {
  if (hay === null) hay = new Array(rows.length);
  var h = hay[i];
  if (h === undefined) {
    var r = rows[i];
    h = hay[i] = [r.decision_id, r.actor === null ? "" : r.actor, r.ts, r.tools.join(" "), r.outcome, r.oversight ? "oversight" : ""].join("\u0000").toLowerCase();
  }
  return h;
}
function filter(q) {
  var terms = q.toLowerCase().split(/\s+/).filter(function (t) { return t !== ""; });
  if (terms.length === 0) return null;
  var out = [];
  for (var i = 0; i < rows.length; i++) {
    var h = haystack(i), all = true;
    for (var t = 0; t < terms.length; t++) if (h.indexOf(terms[t]) < 0) { all = false; break; }
    if (all) out.push(i);
  }
  return out;
}
function count() { return shown === null ? rows.length : shown.length; }
var printNote = byId("table-print-note");
function printNoteText(from, to, total) {
  return rows.length === 0 ? "No decisions." : "Printed: the decision table's current page only (" + (total === 0 ? "no row" : "rows " + fmt(from) + "–" + fmt(to) + " of " + fmt(total)) + (shown === null ? "" : " matching the search") + (rows.length > PAGE || shown !== null ? "; " + fmt(rows.length) + " decisions in all" : "") + "). acttrace inspect PACK lists every decision.";
}
function toggle(tr, r, button) {
  var open = tr.nextSibling !== null && tr.nextSibling.className === "entries";
  if (open) { tbody.removeChild(tr.nextSibling); button.setAttribute("aria-expanded", "false"); return; }
  var detail = el("tr", "entries"), td = el("td");
  td.colSpan = 7;
  td.appendChild(el("p", "entry-head", "Decision " + r.decision_id + ": " + r.seqs.length + " entr" + (r.seqs.length === 1 ? "y" : "ies") + ", in order"));
  if (!config.embedded) td.appendChild(el("p", "none", "The pack is not embedded in this report (" + config.omitted + "): acttrace show PACK --decision " + r.decision_id + " prints these entries."));
  else for (var i = 0; i < r.seqs.length; i++) td.appendChild(entryBlock(r.seqs[i]));
  detail.appendChild(td);
  tr.parentNode.insertBefore(detail, tr.nextSibling);
  button.setAttribute("aria-expanded", "true");
}
function renderPage() {
  var total = count(), pages = Math.max(1, Math.ceil(total / PAGE));
  if (page >= pages) page = pages - 1;
  if (page < 0) page = 0;
  var frag = doc.createDocumentFragment();
  for (var p = page * PAGE; p < Math.min(total, (page + 1) * PAGE); p++) {
    var r = rows[shown === null ? p : shown[p]];
    var tr = el("tr");
    tr.setAttribute("data-decision", r.decision_id);
    var b = el("button", "open", r.decision_id); b.type = "button"; b.setAttribute("aria-expanded", "false");
    var td0 = el("td"); td0.appendChild(b); tr.appendChild(td0);
    tr.appendChild(r.actor === null ? (function () { var t = el("td"); t.appendChild(el("span", "none", "—")); return t; })() : el("td", "", r.actor));
    tr.appendChild(el("td", "ts", r.ts));
    tr.appendChild(el("td", "n", fmt(r.model_calls)));
    tr.appendChild(el("td", "", r.tools.join(", ")));
    tr.appendChild(el("td", "", r.oversight ? "yes" : "no"));
    tr.appendChild(el("td", "", r.outcome));
    (function (tr, r, b) { tr.addEventListener("click", function (ev) { if (ev.target.closest && ev.target.closest("tr.entries")) return; toggle(tr, r, b); }); })(tr, r, b);
    frag.appendChild(tr);
  }
  tbody.textContent = "";
  tbody.appendChild(frag);
  var from = total === 0 ? 0 : page * PAGE + 1, to = Math.min(total, (page + 1) * PAGE);
  status.textContent = (rows.length === 0 ? "no decisions" : total === 0 ? "no decision matches" : "decisions " + fmt(from) + "–" + fmt(to) + " of " + fmt(total) + (shown === null ? "" : " matching (of " + fmt(rows.length) + ")")) + ", page " + fmt(page + 1) + " of " + fmt(pages);
  prev.disabled = page === 0;
  next.disabled = page >= pages - 1;
  printNote.textContent = printNoteText(from, to, total);
}
search.addEventListener("input", function () { shown = filter(search.value); page = 0; renderPage(); });
prev.addEventListener("click", function () { page--; renderPage(); });
next.addEventListener("click", function () { page++; renderPage(); });
search.disabled = false;
search.placeholder = "e.g. an actor, a tool, failure";
renderPage();
byId("decision-table").setAttribute("data-ready", "true");

// ---- the controls' supporting entries
var seqButtons = doc.querySelectorAll("button.seq");
for (var b = 0; b < seqButtons.length; b++) {
  seqButtons[b].addEventListener("click", function (ev) {
    var btn = ev.currentTarget, view = btn.closest("details").querySelector(".entry-view");
    view.textContent = ""; view.hidden = false;
    view.appendChild(entryBlock(Number(btn.getAttribute("data-seq"))));
  });
}

// ---- the headline figures, counted again from the verified pack
// The same fold as src/internal/summary.ts (Collector): lines split on LF, a CR before it and a
// BOM on the first line dropped, blank lines skipped, the first object with a _meta object is the
// header, an entry is an object with a string type, a number seq and an object payload. It runs
// where the pack was verified (the worker, or this page) and its result is compared with the
// summary and with every figure shown: a report maker who rewrites the story around a genuine pack
// is caught here, not only one who edits the pack.
function recount(text) {
  function isRec(u) { return u !== null && typeof u === "object" && !Array.isArray(u); }
  function bump(m, k) { m.set(k, (m.get(k) || 0) + 1); }
  // a string actor as it is, a number or boolean as its text (summary.ts actorOf)
  function actorOf(u) { return typeof u === "string" ? u : typeof u === "number" || typeof u === "boolean" ? String(u) : null; }
  var types = new Map(), flags = 0, entries = 0, decisions = new Map(), started = [], seenFirst = false;
  var lines = text.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  for (var ln = 0; ln < lines.length; ln++) {
    var t = lines[ln];
    if (t.charAt(t.length - 1) === "\r") t = t.slice(0, -1);
    if (ln === 0 && t.charCodeAt(0) === 0xfeff) t = t.slice(1);
    if (t.length === 0 || (t.charCodeAt(0) <= 0x20 && /^\s*$/.test(t))) continue;
    var v; try { v = JSON.parse(t); } catch (e) { v = undefined; }
    var first = !seenFirst; seenFirst = true;
    if (!isRec(v)) continue;
    if (first && isRec(v._meta)) continue;
    var p = v.payload, type = v.type, ts = typeof v.ts === "string" ? v.ts : "";
    if (typeof type !== "string" || typeof v.seq !== "number" || !isRec(p)) continue;
    entries++; bump(types, type);
    var id = p.decision_id, d;
    if (typeof id === "string") {
      d = decisions.get(id);
      if (d === undefined) { d = { decision_id: id, actor: null, ts: ts, model_calls: 0, tools: [], oversight: false, outcome: null, seqs: [], started: false }; decisions.set(id, d); }
      d.seqs.push(v.seq);
    }
    if (type === "decision") {
      if (d !== undefined && !d.started) { d.started = true; started.push(d); d.actor = actorOf(p.actor); }
      // a second decision entry under the same id: its actor fills a gap
      else if (d !== undefined && d.actor === null) d.actor = actorOf(p.actor);
    }
    else if (type === "decision_end") { if (d !== undefined) d.outcome = typeof p.outcome === "string" ? p.outcome : "ended"; }
    else if (type === "human_oversight") { if (d !== undefined) d.oversight = true; }
    else if (type === "llm_call") { if (d !== undefined) d.model_calls++; }
    else if (type === "tool_call") { var name = typeof p.name === "string" ? p.name : "(unnamed)"; if (d !== undefined && d.tools.indexOf(name) < 0) d.tools.push(name); }
    else if (type === "policy_flag") flags++;
  }
  var outcomes = new Map(), withOversight = 0, rows = [];
  for (var i = 0; i < started.length; i++) {
    var r = started[i];
    bump(outcomes, r.outcome === null ? "open" : r.outcome);
    if (r.oversight) withOversight++;
    rows.push({ decision_id: r.decision_id, actor: r.actor, ts: r.ts, model_calls: r.model_calls, tools: r.tools, oversight: r.oversight, outcome: r.outcome === null ? "open" : r.outcome, seqs: r.seqs });
  }
  function sorted(m) { return Array.from(m.entries()).sort(function (a, b) { return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0; }).map(function (e) { return { name: e[0], count: e[1] }; }); }
  return { entries: entries, by_type: sorted(types), decisions: { total: rows.length, with_oversight: withOversight, outcomes: sorted(outcomes) }, flags_total: flags, rows: rows };
}
// Where the figures shown and the summary differ from the recount (and the verdict's head and
// entry count from this browser's): one line per difference, naming the figure.
function disagreements(c, v) {
  var out = [];
  var sv = summary.verdict;
  if (v.ok && sv.ok) {
    if (v.entries !== sv.entries) out.push("verdict.entries: the report's verdict says " + fmt(sv.entries) + ", this browser verified " + fmt(v.entries));
    if (v.head !== sv.head) out.push("verdict.head: the report's verdict says " + sv.head + ", this browser computed " + v.head);
  }
  var expected = new Map();
  expected.set("entries", c.entries);
  for (var i = 0; i < c.by_type.length; i++) expected.set("by_type." + c.by_type[i].name, c.by_type[i].count);
  expected.set("decisions.total", c.decisions.total);
  expected.set("decisions.with_oversight", c.decisions.with_oversight);
  for (var j = 0; j < c.decisions.outcomes.length; j++) expected.set("decisions.outcomes." + c.decisions.outcomes[j].name, c.decisions.outcomes[j].count);
  expected.set("flags.total", c.flags_total);
  if (v.ok && sv.ok) { expected.set("verdict.entries", v.entries); if (v.head !== null) expected.set("verdict.head", v.head); }
  // the summary the table and the page's script read
  var said = new Map();
  said.set("entries", summary.entries);
  for (var a = 0; a < summary.by_type.length; a++) said.set("by_type." + summary.by_type[a].name, summary.by_type[a].count);
  said.set("decisions.total", summary.decisions.total);
  said.set("decisions.with_oversight", summary.decisions.with_oversight);
  for (var b = 0; b < summary.decisions.outcomes.length; b++) said.set("decisions.outcomes." + summary.decisions.outcomes[b].name, summary.decisions.outcomes[b].count);
  said.set("flags.total", summary.flags.total);
  var paths = new Set();
  expected.forEach(function (_, k) { if (k.indexOf("verdict.") !== 0) paths.add(k); });
  said.forEach(function (_, k) { paths.add(k); });
  paths.forEach(function (k) {
    var e = expected.has(k) ? expected.get(k) : 0, s = said.has(k) ? said.get(k) : 0;
    if (e !== s) out.push(k + ": the report's summary says " + fmt(s) + ", the verified pack has " + fmt(e));
  });
  // the figures as shown (attribute and text); an element for a figure the pack lacks is a difference too
  var shownEls = doc.querySelectorAll("[data-metric]"), present = new Set();
  for (var q = 0; q < shownEls.length; q++) {
    var path = shownEls[q].getAttribute("data-metric");
    var counted = path === "entries" || path === "decisions.total" || path === "decisions.with_oversight" || path === "flags.total" || path === "verdict.entries" || path === "verdict.head" || path.indexOf("by_type.") === 0 || path.indexOf("decisions.outcomes.") === 0;
    if (!counted) continue;
    if (path.indexOf("verdict.") === 0 && !(v.ok && sv.ok)) continue;
    present.add(path);
    var want = expected.has(path) ? expected.get(path) : 0, raw = shownEls[q].getAttribute("data-value"), text = shownEls[q].textContent;
    if (raw !== String(want) || (text !== String(want) && text !== fmt(want))) out.push(path + ": the page shows " + (raw === text ? raw : text + " (" + raw + ")") + ", the verified pack has " + fmt(want));
  }
  expected.forEach(function (val, k) { if (!present.has(k) && val !== 0 && k !== "verdict.head") out.push(k + ": not shown on the page, the verified pack has " + fmt(val)); });
  var share = doc.querySelector("[data-share=oversight]");
  if (share !== null) {
    var d = c.decisions, wantShare = d.total === 0 ? "no decisions" : ((d.with_oversight / d.total) * 100).toFixed(1) + " %";
    if (share.textContent !== wantShare) out.push("the share with human oversight: the page shows " + share.textContent + ", the verified pack gives " + wantShare);
  }
  // the decision table, row by row
  var rs = summary.decision_rows, bad = 0;
  if (rs.length !== c.rows.length) out.push("the decision table: the report lists " + fmt(rs.length) + " decisions, the verified pack has " + fmt(c.rows.length));
  for (var k2 = 0; k2 < Math.min(rs.length, c.rows.length); k2++) {
    var x = rs[k2], y = c.rows[k2], f = [];
    if (x.decision_id !== y.decision_id) f.push("decision id");
    if (x.actor !== y.actor) f.push("actor");
    if (x.ts !== y.ts) f.push("time");
    if (x.model_calls !== y.model_calls) f.push("model calls");
    if (x.tools.join("\u0000") !== y.tools.join("\u0000") || x.tools.length !== y.tools.length) f.push("tools");
    if (x.oversight !== y.oversight) f.push("oversight");
    if (x.outcome !== y.outcome) f.push("outcome");
    if (x.seqs.join(",") !== y.seqs.join(",")) f.push("entries");
    if (f.length > 0 && ++bad <= 5) out.push("the decision table, row " + fmt(k2 + 1) + " (decision " + y.decision_id + "): " + f.join(", ") + " differ" + (f.length === 1 ? "s" : "") + " from the verified pack");
  }
  if (bad > 5) out.push("the decision table: " + fmt(bad - 5) + " more rows differ from the verified pack");
  return out;
}

// ---- verification in this browser
var verdict = byId("browser-verdict");
if (!config.embedded) return;
var box = byId("browser-check"), bar = byId("browser-progress"), barText = byId("browser-progress-text"), details = byId("browser-details");
var keyInput = byId("key-input"), keyButton = byId("key-button");
var run = 0;
function setVerdict(state, text, items, cls) {
  verdict.setAttribute("data-verdict", state);
  verdict.textContent = shownText(text);
  details.textContent = "";
  for (var i = 0; i < items.length; i++) details.appendChild(el("li", "", items[i]));
  box.className = "verdict " + (cls || state);
}
// The check runs in a worker made from the verifier's own script (the text of the
// #acttrace-verifier element, allowed by the policy as worker-src blob:), so even a pack of tens of
// megabytes never holds up this page; where no worker can start, it runs here, yielding as it goes.
// The worker also compares the embedded text's UTF-8 with the SHA-256 of the file the summary
// describes: the figures above are about that file, the check about the embedded copy.
var WORKER_GLUE = "\n;var recount = " + String(recount) + ";\n;(" + String(function () {
  function hex(buf) { var a = new Uint8Array(buf), s = ""; for (var i = 0; i < a.length; i++) s += (a[i] < 16 ? "0" : "") + a[i].toString(16); return s; }
  self.onmessage = function (ev) {
    var m = ev.data, text, digest = Promise.resolve(null);
    try { text = JSON.parse(m.json); if (typeof text !== "string") throw new Error("it is not a string"); } catch (e) { self.postMessage({ unreadable: e.message }); return; }
    var input = text;
    // well-formed text is verified as its UTF-8 bytes, which are also hashed; a lone surrogate
    // (possible only in an edited page) goes to the verifier as text, which rejects it
    if (typeof text.isWellFormed !== "function" || text.isWellFormed()) {
      input = new TextEncoder().encode(text);
      digest = crypto.subtle.digest("SHA-256", input).then(hex);
    }
    var options = { pubkeys: m.pubkeys, onProgress: function (entries, bytes) { self.postMessage({ progress: [entries, bytes] }); } };
    if (m.key !== undefined) options.key = m.key;
    Promise.all([globalThis.acttraceVerify(input, options), digest]).then(function (both) {
      // the figures are counted only from a pack that verified: a failed one is failed already
      self.postMessage({ verdict: both[0], sha256: both[1], counts: both[0].ok ? recount(text) : null });
    }, function (e) { self.postMessage({ error: e && e.message ? e.message : String(e) }); });
  };
}) + ")();\n";
var worker = null;
function hexOf(buf) { var a = new Uint8Array(buf), s = ""; for (var i = 0; i < a.length; i++) s += (a[i] < 16 ? "0" : "") + a[i].toString(16); return s; }
function inPage(text, key, progress) {
  var options = { pubkeys: config.pubkeys.slice(), onProgress: progress };
  if (key !== undefined) options.key = key;
  var digest = globalThis.crypto && crypto.subtle && (typeof text.isWellFormed !== "function" || text.isWellFormed())
    ? crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)).then(hexOf) : Promise.resolve(null);
  return Promise.all([globalThis.acttraceVerify(text, options), digest]).then(function (both) { return { verdict: both[0], sha256: both[1], counts: both[0].ok ? recount(text) : null }; });
}
function inWorker(json, key, progress) {
  return new Promise(function (resolve, reject) {
    var w, started = false;
    try {
      var source = byId("acttrace-verifier").textContent + WORKER_GLUE;
      w = new Worker(URL.createObjectURL(new Blob([source], { type: "text/javascript" })));
    } catch (e) { reject({ fallback: true }); return; }
    worker = w;
    w.onmessage = function (ev) {
      started = true;
      var m = ev.data;
      if (m.progress) { progress(m.progress[0], m.progress[1]); return; }
      w.terminate(); if (worker === w) worker = null;
      if (m.error !== undefined) reject(new Error(m.error));
      else if (m.unreadable !== undefined) reject({ unreadable: m.unreadable });
      else resolve(m);
    };
    w.onerror = function (e) {
      w.terminate(); if (worker === w) worker = null;
      if (e && e.preventDefault) e.preventDefault();
      reject(started ? new Error(e && e.message ? e.message : "the verifier stopped") : { fallback: true });
    };
    w.postMessage({ json: json, key: key, pubkeys: config.pubkeys.slice() });
  });
}
function verify(key) {
  var mine = ++run;
  if (worker !== null) { worker.terminate(); worker = null; }
  if (typeof globalThis.acttraceVerify !== "function") { setVerdict("error", "This browser could not load the verifier: the pack was not checked here.", [], "warn"); return; }
  // the worker parses the pack's JSON itself: this page parses it only when an entry is opened
  var packEl = byId("acttrace-pack");
  if (packEl === null) { setVerdict("failed", "Failed in this browser: the embedded pack's element is missing.", []); return; }
  var json = packEl.textContent;
  // characters, not bytes: a bound for the bar, clamped (the exact byte count would cost a pass)
  var total = Math.max(1, json.length);
  bar.max = total; bar.value = 0; barText.textContent = "";
  verdict.setAttribute("data-verdict", "pending");
  verdict.textContent = key === undefined ? "Verifying the embedded pack in this browser…" : "Verifying the embedded pack with the key…";
  details.textContent = "";
  box.className = "verdict pending";
  var pendingDraw = false, last = [0, 0], done = false;
  function progress(entries, bytes) {
    last = [entries, bytes];
    if (pendingDraw || mine !== run || done) return;
    pendingDraw = true;
    requestAnimationFrame(function () {
      pendingDraw = false;
      if (mine !== run || done) return;
      bar.value = Math.min(total, last[1]);
      barText.textContent = fmt(last[0]) + " entries checked (" + Math.min(99, Math.floor((last[1] / total) * 100)) + " %)";
    });
  }
  var started = performance.now();
  inWorker(json, key, progress).catch(function (e) {
    if (!(e && e.fallback === true && mine === run)) throw e;
    var text;
    try { text = pack(); if (typeof text !== "string") throw new Error("it is not a string"); } catch (x) { throw { unreadable: x.message }; }
    return inPage(text, key, progress);
  }).then(function (r) {
    if (mine !== run) return;
    done = true;
    var v = r.verdict, same = r.sha256 === null ? null : r.sha256 === summary.source.sha256;
    var secs = ((performance.now() - started) / 1000).toFixed(1);
    bar.value = bar.max;
    barText.textContent = fmt(v.entries) + " entries checked in " + secs + " s";
    var items = [];
    items.push("Signatures: " + (key === undefined
      ? (v.signatures === "absent" ? "no entry is signed" : "not checked (type the HMAC key below to check them)")
      : v.signatures === "verified" ? "verified with the key typed below" : v.ok ? v.signatures : "not verified with the key typed below") + ".");
    items.push("Completeness: " + v.completeness + ".");
    if (v.checkpoint_count > 0 || (v.checkpoints !== "not-checked" && v.checkpoints !== "absent")) items.push("Ed25519 checkpoints: " + v.checkpoints + " (" + fmt(v.checkpoint_count) + " checkpoint entr" + (v.checkpoint_count === 1 ? "y" : "ies") + (typeof v.unsealed_tail === "number" && v.checkpoints === "verified" ? "; entries no verified checkpoint covers: " + fmt(v.unsealed_tail) : "") + (config.pubkeys.length === 0 ? "; no public key was given to check them" : "") + ").");
    if (v.ok && v.head) items.push("Head: " + v.head + " (compare it with the head you hold out of band).");
    else if (!v.ok) items.push(v.entries > 0 && v.head ? "The chain held for the first " + fmt(v.entries) + " entr" + (v.entries === 1 ? "y" : "ies") + " (up to head " + v.head + "); nothing after that is verified." : "No entry verified.");
    if (same === true) items.push("The embedded pack's SHA-256 is the one this report states for its file (" + summary.source.sha256.slice(0, 12) + "…).");
    if (same === null) items.push("The embedded copy was not compared with the file's SHA-256 (no WebCrypto digest, or text that is not well-formed).");
    var agree = v.ok === summary.verdict.ok && v.result === summary.verdict.result;
    if (!agree) items.push("This differs from the verdict the report was made with (" + summary.verdict.result + "). The check in this browser looked at the embedded pack itself.");
    // the verifier's message names the result, the line and the seq already, as verify prints them
    var failure = v.ok ? "" : (v.message.indexOf(v.result) === 0 ? v.message : v.result + ": " + v.message);
    if (same === false) {
      setVerdict("failed", "Failed in this browser: " + (v.ok ? "" : failure + ". Also, ") + "the embedded pack is not the file this report describes (its SHA-256 differs from " + summary.source.sha256.slice(0, 12) + "…), so the figures above do not describe it.", items);
      return;
    }
    var recountEl = byId("browser-recount-result");
    if (v.ok && r.counts) {
      var diff = disagreements(r.counts, v);
      if (diff.length > 0) {
        recountEl.textContent = "Re-counted from the verified pack: " + diff.length + " figure" + (diff.length === 1 ? "" : "s") + " of this report disagree" + (diff.length === 1 ? "s" : "") + " with it (listed above).";
        setVerdict("failed", "Failed in this browser: the pack verifies, but this report's figures do not match it: " + diff[0] + (diff.length > 1 ? " (and " + (diff.length - 1) + " more)" : "") + ".", diff.concat(items));
        return;
      }
      recountEl.textContent = "Re-counted from the verified pack: every one of these figures, and every row of the decision table, matches.";
    } else if (v.ok) recountEl.textContent = "Not re-counted (this browser did not return the counts).";
    else recountEl.textContent = "Not re-counted: the pack did not verify.";
    var complete = v.completeness === "signed-header" || v.completeness === "signed-checkpoint" || v.completeness === "expected-head";
    var because = v.completeness === "unsigned-header" ? "the header's entry count is not authenticated: type the HMAC key below to check its signature"
      : v.completeness === "none" ? "nothing states how many entries there should be, so entries removed from the end would not show"
      : "completeness is " + v.completeness + ", which is not authenticated";
    if (v.ok) setVerdict("ok", (complete ? "Intact and complete in this browser: " : "Intact in this browser; completeness not established (" + because + "): ") + fmt(v.entries) + " entries, every hash and link recomputed with WebCrypto" + (v.signatures === "verified" ? ", signatures verified with the key" : "") + ".", items);
    else setVerdict("failed", "Failed in this browser: " + failure, items);
  }).catch(function (e) {
    if (mine !== run) return;
    if (e && e.unreadable !== undefined) { setVerdict("failed", "Failed in this browser: the embedded pack cannot be read (" + e.unreadable + "): the page was changed after it was made.", []); return; }
    setVerdict("error", "This browser could not verify the pack (" + (e && e.message ? e.message : String(e)) + "). That is not evidence of tampering: verify the pack with acttrace verify.", [], "warn");
  });
}
byId("key-form").addEventListener("submit", function (ev) {
  ev.preventDefault();
  if (doc.readyState === "loading") return;
  verify(keyInput.value === "" ? undefined : keyInput.value);
});
// The table above works while the parser still reads the pack below it (the pack comes last in
// the document: tens of megabytes). The check starts once the whole document is in and painted.
function start() { keyInput.disabled = false; keyButton.disabled = false; requestAnimationFrame(function () { setTimeout(function () { verify(undefined); }, 0); }); }
if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", start); else start();
})();
`

// ---------------------------------------------------------------------------------------------

/**
 * The report: one self-contained HTML document (no network; inline CSS with a print stylesheet;
 * inline scripts allowed by hash), sections in the issue's order: the verdicts, system and period,
 * decisions (chart, oversight, outcomes), flags and redactions, model usage, controls, the
 * decision table, the control texts, the disclaimer.
 *
 * @since 0.1.0
 * @category rendering
 */
export const renderReport = (summary: ReportSummary, options: RenderOptions): string => {
  const embedded = "text" in options.pack
  const doc = options.controlsDoc ?? packageControlsDoc()
  const sections = doc === null ? new Map<string, DocSection>() : controlSections(doc)
  const verifier = scriptText(options.verifierSource ?? VERIFIER_SOURCE)
  const app = scriptText(APP)
  const config = {
    embedded,
    omitted: embedded ? null : (options.pack as { readonly omitted: string }).omitted,
    pubkeys: options.pubkeys,
    page_size: PAGE_SIZE
  }
  const csp = [
    "default-src 'none'",
    `script-src 'sha256-${sha256Base64(verifier)}' 'sha256-${sha256Base64(app)}'${/\bWebAssembly\b/.test(verifier) ? " 'wasm-unsafe-eval'" : ""}`,
    `style-src 'sha256-${sha256Base64(STYLE)}'`,
    // the verification runs in a worker made from the verifier's own script (a blob: URL)
    "worker-src blob:",
    "img-src 'none'",
    "font-src 'none'",
    "connect-src 'none'",
    "base-uri 'none'",
    "form-action 'none'"
  ].join("; ")
  const title = `Evidence report${summary.system === null ? "" : `: ${summary.system}`}`
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttr(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<p class="note">acttrace evidence report</p>
<h1>${escapeHtml(title)}</h1>
<nav class="toc" aria-label="Contents"><ul>
<li><a href="#verdict-section">Verdict</a></li><li><a href="#overview">System and period</a></li><li><a href="#decisions">Decisions</a></li><li><a href="#flags">Flags and redactions</a></li><li><a href="#models">Model usage</a></li><li><a href="#controls">Controls</a></li><li><a href="#decision-list">Decision table</a></li>${
    summary.controls.some((c) => c.anchor !== null && sections.has(c.anchor)) ? `<li><a href="#reference">Control texts</a></li>` : ""
  }<li><a href="#disclaimer">Disclaimer</a></li>
</ul></nav>
</header>
<main>
${verdictSection(summary, options)}
${overviewSection(summary)}
${decisionsSection(summary)}
${flagsSection(summary)}
${modelsSection(summary)}
${controlsSection(summary, sections, embedded)}
${tableSection(summary, embedded)}
${referenceSection(summary, sections, doc !== null)}
<section id="disclaimer" aria-labelledby="disclaimer-heading">
<h2 id="disclaimer-heading">Disclaimer</h2>
<div class="disclaimer"><p>${escapeHtml(summary.disclaimer)}</p><p>The control ids are starting templates, not certified mappings: whether a system meets a provision depends on the system, its use and its organisation, which no log can show.</p></div>
</section>
</main>
<footer>
<p>Made by acttrace from <code>${escapeHtml(summary.source.path)}</code>. This page loads nothing from the network. To check the pack yourself: <code>acttrace verify PACK</code> (with <code>ACTTRACE_KEY</code> for the signatures).</p>
</footer>
<script type="application/json" id="acttrace-summary">${jsonForScript(summary)}</script>
<script type="application/json" id="acttrace-config">${jsonForScript(config)}</script>
<script id="acttrace-app">${app}</script>
${embedded ? `<script type="application/json" id="acttrace-pack">${jsonForScript((options.pack as { readonly text: string }).text)}</script>\n` : ""}<script id="acttrace-verifier">${verifier}</script>
</body>
</html>
`
}
