/**
 * The HTML report's rendering without a browser (the Chromium tests are test/report-browser.test.ts):
 * what the page embeds and how it escapes, checked on the text of the page.
 */
import { describe, expect, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import * as fc from "effect/FastCheck"
import * as Controls from "../src/Controls.js"
import type { ReportSummary } from "../src/internal/report-model.js"
import { controlSections, escapeAttr, escapeHtml, jsonForScript, renderReport } from "../src/internal/report-page.js"
import { ROOT } from "./helpers.js"

const DOC = readFileSync(join(ROOT, Controls.DOCS_PATH), "utf8")

const summary = (over: Partial<ReportSummary> = {}): ReportSummary => ({
  version: 1,
  source: { path: "p.jsonl", bytes: 10, sha256: "0".repeat(64), kind: "pack" },
  verdict: { ok: true, result: "Ok", message: "ok: 1 entries", entries: 1, head: "a".repeat(64), signatures: "not-checked", completeness: "unsigned-header", explanation: [] },
  system: "s",
  risk_tier: "high",
  framework: "eu_ai_act",
  disclaimer: "Evidence to support compliance — not legal advice.",
  period: { first: "2026-01-01T00:00:00+00:00", last: "2026-01-01T00:00:00+00:00" },
  entries: 1,
  by_type: [{ name: "audit_open", count: 1 }],
  decisions: { total: 0, with_oversight: 0, outcomes: [], bucket: "day", over_time: [] },
  flags: { total: 0, by_action: [], by_severity: [], top_categories: [] },
  redactions: [],
  models: [],
  tools: [],
  controls: [],
  decision_rows: [],
  ...over
})

/** The text of the `<script type="application/json" id=ID>` block, parsed as the page parses it. */
const block = (html: string, id: string): unknown => {
  const start = html.indexOf(`<script type="application/json" id="${id}">`)
  expect(start).toBeGreaterThanOrEqual(0)
  const from = html.indexOf(">", start) + 1
  return JSON.parse(html.slice(from, html.indexOf("</script>", from)))
}

describe("the report page's text", () => {
  it("every control a pack can carry has its section in docs/controls.md, and the page embeds the text of those it shows", () => {
    const sections = controlSections(DOC)
    const missing = Controls.catalogue.filter((c) => !sections.has(c.anchor)).map((c) => `${c.framework} ${c.id} (#${c.anchor})`)
    expect(missing).toEqual([])
    for (const c of Controls.catalogue) {
      const sec = sections.get(c.anchor)!
      expect(sec.heading, c.anchor).toBe(c.id)
      expect(sec.body.length, c.anchor).toBeGreaterThan(80)
    }
    const shown = Controls.catalogue.filter((c) => c.framework === "gdpr")
    const html = renderReport(summary({
      framework: "gdpr",
      controls: shown.map((c) => ({ id: c.id, framework: c.framework, provision: c.provision, anchor: c.anchor, entries: 1, seqs: [0] }))
    }), { pack: { omitted: "test" }, pubkeys: [], controlsDoc: DOC })
    for (const c of shown) {
      expect(html).toContain(`<a href="#ref-${c.anchor}">`)
      expect(html).toContain(`<article class="reference" id="ref-${c.anchor}">`)
    }
    // a link inside a text goes in-page when its target is in the page (Art.9 cites the overlays,
    // which are not a control: shown as text)
    expect(html).not.toMatch(/href="(?!#)/)
    expect(html).not.toContain(`href="#overlays"`)
  })

  it("a control id of an earlier mapping has no text, and says so", () => {
    const html = renderReport(summary({
      controls: [{ id: "Art.12 logging", framework: "eu_ai_act", provision: null, anchor: null, entries: 2, seqs: [0, 1] }]
    }), { pack: { omitted: "test" }, pubkeys: [], controlsDoc: DOC })
    expect(html).toContain("not in acttrace's current mapping")
    expect(html).not.toContain(`id="reference"`)
  })

  it.prop("JSON blocks hold any string exactly, and no <, > or & (so no </script>, <!-- or <script)", [fc.array(fc.string({ unit: "binary" }), { maxLength: 8 })], ([strings]) => {
    const hostile = [...strings, "</script><script>alert(1)</script>", "<!--", "-->", "\u2028\u2029", "</SCRIPT >", "<\u0000/script>"]
    const text = hostile.join("\n")
    const html = renderReport(summary({ system: text, decision_rows: hostile.map((h, i) => ({ decision_id: h, actor: h, ts: h, model_calls: i, tools: [h], oversight: false, outcome: h, seqs: [i] })) }), {
      pack: { text },
      pubkeys: [text],
      controlsDoc: DOC,
      verifierSource: "globalThis.acttraceVerify = function () { return Promise.reject(new Error('none')) };"
    })
    expect(block(html, "acttrace-pack")).toBe(text)
    expect((block(html, "acttrace-summary") as ReportSummary).decision_rows.map((r) => r.actor)).toEqual(hostile)
    expect((block(html, "acttrace-config") as { pubkeys: Array<string> }).pubkeys).toEqual([text])
    // the page holds exactly its own five scripts and no markup from the strings
    expect(html.match(/<script/gi)?.length).toBe(5)
    expect(html.match(/<\/script/gi)?.length).toBe(5)
    expect(html).not.toContain("<!--")
    for (const s of [jsonForScript(text)]) expect(s).not.toMatch(/[<>&\u2028\u2029]/)
  })

  it("HTML text and attributes are escaped", () => {
    expect(escapeHtml(`<img src=x onerror='a'>&"`)).toBe("&lt;img src=x onerror=&#39;a&#39;&gt;&amp;&quot;")
    const html = renderReport(summary({ models: [{ provider: "p", model: `"><img src=x>`, calls: 1, failures: 0, input_tokens: 1, output_tokens: 1, cost: null, currency: null }] }), { pack: { omitted: "t" }, pubkeys: [], controlsDoc: DOC })
    expect(html).not.toContain(`<img`)
    expect(html).toContain(`data-metric="models.&quot;&gt;&lt;img src=x&gt;.calls"`)
  })

  it("CR is a character reference everywhere; bidi controls are escapes in text and exact in attributes", () => {
    expect(escapeHtml("a\rb\u202Ec")).toBe("a&#13;b\\u202ec")
    expect(escapeAttr("a\rb\u202Ec")).toBe("a&#13;b\u202Ec")
    const html = renderReport(summary({ by_type: [{ name: "x\u202Ey\rz", count: 1 }] }), { pack: { omitted: "t" }, pubkeys: [], controlsDoc: DOC })
    expect(html).toContain(`<td>x\\u202ey&#13;z</td>`)
    expect(html).toContain(`data-metric="by_type.x\u202Ey&#13;z"`)
    expect(html).not.toContain("\r")
  })

  it("the headline says complete only when completeness is authenticated, and otherwise why it is not", () => {
    const headline = (completeness: string) => {
      const html = renderReport(summary({ verdict: { ...summary().verdict, completeness } }), { pack: { omitted: "t" }, pubkeys: [], controlsDoc: DOC })
      return /<p class="headline">([\s\S]*?)<\/p>/.exec(html)![1]!.replace(/<[^>]+>/g, "").replace(/&#39;/g, "'")
    }
    for (const c of ["signed-header", "signed-checkpoint", "expected-head"]) expect(headline(c), c).toMatch(/^Intact and complete: 1 entries verified/)
    expect(headline("none")).toMatch(/^Intact; completeness not established \(nothing states how many entries/)
    expect(headline("unsigned-header")).toMatch(/^Intact; completeness not established \(the header's entry count is not authenticated/)
  })

  it("a chart of one bucket puts its label under its bar", () => {
    const html = renderReport(summary({ decisions: { total: 2, with_oversight: 0, outcomes: [{ name: "open", count: 2 }], bucket: "day", over_time: [{ start: "2026-01-01T00:00:00Z", count: 2 }] } }), { pack: { omitted: "t" }, pubkeys: [], controlsDoc: DOC })
    const bar = /<rect class="bar" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"/.exec(html)!
    const centre = Number(bar[1]) + Number(bar[2]) / 2
    const label = /<text class="axis" x="([\d.]+)" y="[\d.]+" text-anchor="(\w+)">2026-01-01<\/text>/.exec(html)!
    expect(label[2]).toBe("middle")
    expect(Math.abs(Number(label[1]) - centre)).toBeLessThan(1)
  })

  it("decisions outside the chart and entries whose time is not a time or runs back are said, with their metrics", () => {
    const html = renderReport(summary({
      period: { first: "2026-01-01T00:00:00Z", last: "2026-01-02T00:00:00Z", unparseable: 2, out_of_order: 1 },
      decisions: { total: 5, with_oversight: 0, outcomes: [{ name: "open", count: 5 }], bucket: "day", over_time: [{ start: "2026-01-01T00:00:00Z", count: 2 }], outside_chart: 3 }
    }), { pack: { omitted: "t" }, pubkeys: [], controlsDoc: DOC })
    expect(html).toContain(`data-metric="decisions.outside_chart" data-value="3"`)
    expect(html).toMatch(/decisions are not drawn: their time is not a time or lies far from the rest/)
    expect(html).toContain(`data-metric="period.unparseable" data-value="2"`)
    expect(html).toContain(`data-metric="period.out_of_order" data-value="1"`)
    const plain = renderReport(summary(), { pack: { omitted: "t" }, pubkeys: [], controlsDoc: DOC })
    expect(plain).not.toContain("outside_chart")
    expect(plain).not.toContain("period.unparseable")
  })

  it("the Content-Security-Policy allows the page's own scripts and style by hash, and nothing from anywhere", () => {
    const html = renderReport(summary(), { pack: { text: "" }, pubkeys: [], controlsDoc: DOC })
    // the attribute's text as the browser reads it (its quotes are written &#39;)
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)![1]!.replace(/&#39;/g, "'")
    expect(csp).toContain("default-src 'none'")
    expect(csp).not.toContain("unsafe-inline")
    expect(csp).not.toMatch(/https?:|data:|\*/)
    expect(csp.match(/'sha256-/g)?.length).toBe(3)
    expect(html).not.toMatch(/\b(src|href)="(?!#)/)
  })
})
