import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as BigDecimal from "effect/BigDecimal"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Pricing from "../src/Pricing.js"

const usage = (input: number, output: number, cached = 0, write = 0): Pricing.Usage => ({
  input_tokens: input,
  output_tokens: output,
  cached_tokens: cached,
  reasoning_tokens: 0,
  cache_write: write
})

const costOf = (provider: string, model: string, u: Pricing.Usage, layer: Layer.Layer<Pricing.Pricing, Pricing.InvalidPrice> = Pricing.layer) =>
  Effect.runPromise(Effect.flatMap(Pricing.Pricing, (p) => p.cost(provider, model, u)).pipe(Effect.provide(layer)))

describe("Pricing", () => {
  it("the bundled table is dated, names its sources, and covers OpenAI, Anthropic and Google", () => {
    expect(Pricing.bundled.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/)
    expect(Pricing.bundled.source).toContain("openai.com")
    expect(Pricing.bundled.source).toContain("claude.com")
    expect(Pricing.bundled.source).toContain("ai.google.dev")
    expect(new Set(Pricing.bundled.models.map((m) => m.provider))).toEqual(new Set(["openai", "anthropic", "google"]))
    for (const m of Pricing.bundled.models) for (const r of [m.input, m.output, m.cachedInput, m.cacheWrite]) if (r !== undefined) expect(r).toMatch(/^\d+(\.\d+)?$/)
  })

  it("exact decimals: no float rounding, even over many tokens", async () => {
    // 0.1 + 0.2 in floats is 0.30000000000000004; here 1M tokens at 0.10 and 2M at 0.10 is 0.3
    expect(await costOf("google", "gemini-2.0-flash", usage(3_000_000, 0))).toBe("0.3 USD")
    expect(await costOf("openai", "gpt-4o-mini", usage(1, 1))).toBe("0.00000075 USD")
    expect(await costOf("openai", "gpt-4o", usage(0, 0))).toBe("0 USD")
  })

  it("OpenAI counts cached tokens inside the input; Anthropic beside it", async () => {
    // 800 × 2.50 + 200 × 1.25 + 100 × 10, per million
    expect(await costOf("openai", "gpt-4o", usage(1000, 100, 200))).toBe("0.00325 USD")
    // 1000 × 3 + 200 × 0.30 + 50 × 3.75 + 100 × 15, per million
    expect(await costOf("anthropic", "claude-sonnet-4", usage(1000, 100, 200, 50))).toBe("0.0047475 USD")
  })

  it("dated and versioned snapshots match their model; other variants do not", () => {
    const p = Pricing.make(Pricing.bundled.models)
    const model = (provider: string, id: string) => Option.map(p.price(provider, id), (m) => m.model)
    expect(model("openai", "gpt-4o-2024-08-06")).toEqual(Option.some("gpt-4o"))
    expect(model("openai", "gpt-4o-mini-2024-07-18")).toEqual(Option.some("gpt-4o-mini"))
    expect(model("anthropic", "claude-sonnet-4-5-20250929")).toEqual(Option.some("claude-sonnet-4-5"))
    expect(model("anthropic", "claude-3-5-haiku-latest")).toEqual(Option.some("claude-3-5-haiku"))
    expect(model("google", "models/gemini-2.5-pro")).toEqual(Option.some("gemini-2.5-pro"))
    expect(model("google", "gemini-2.0-flash-001")).toEqual(Option.some("gemini-2.0-flash"))
    // never a guess
    expect(model("openai", "gpt-4o-audio-preview")).toEqual(Option.none())
    expect(model("openai", "ft:gpt-4o-mini:acme::abc123")).toEqual(Option.none())
    expect(model("anthropic", "gpt-4o")).toEqual(Option.none())
    expect(model("openai", "gpt-4o-realtime")).toEqual(Option.none())
  })

  it("Gemini 2.5 Pro is priced at the long-context rate above 200k prompt tokens", async () => {
    expect(await costOf("google", "gemini-2.5-pro", usage(200_000, 1000))).toBe("0.26 USD")
    expect(await costOf("google", "gemini-2.5-pro", usage(200_001, 1000))).toBe("0.5150025 USD")
  })

  it("unknown model or missing usage: null", async () => {
    expect(await costOf("openai", "gpt-9", usage(1, 1))).toBeNull()
    expect(await Effect.runPromise(Effect.flatMap(Pricing.Pricing, (p) => p.cost("openai", "gpt-4o", null)))).toBeNull()
  })

  it("custom prices: replace or extend the bundled table; a bad rate is a typed error", async () => {
    const house: Pricing.ModelPrice = { provider: "openai", model: "gpt-4o", input: "2.00", output: "8.00" }
    expect(await costOf("openai", "gpt-4o", usage(1000, 1000), Pricing.layerPrices([house], { extend: true }))).toBe("0.01 USD")
    expect(await costOf("anthropic", "claude-haiku-4-5", usage(1000, 0), Pricing.layerPrices([house], { extend: true }))).toBe("0.001 USD")
    expect(await costOf("anthropic", "claude-haiku-4-5", usage(1000, 0), Pricing.layerPrices([house]))).toBeNull()
    const bad = await Effect.runPromiseExit(
      Effect.flatMap(Pricing.Pricing, (p) => p.cost("x", "y", null)).pipe(Effect.provide(Pricing.layerPrices([{ provider: "x", model: "y", input: "1e-3", output: "1" }])))
    )
    expect(Exit.isFailure(bad) && JSON.stringify(bad.cause)).toContain("InvalidPrice")
  })

  it("amounts are written in plain notation, never with an exponent", () => {
    expect(Pricing.formatUsd(BigDecimal.make(1n, 20))).toBe("0.00000000000000000001 USD")
    expect(Pricing.formatUsd(BigDecimal.make(12n, -3))).toBe("12000 USD")
    expect(Pricing.formatUsd(BigDecimal.unsafeFromString("1.50"))).toBe("1.5 USD")
  })

  const rate = fc
    .tuple(fc.bigInt({ min: 0n, max: 10n ** 9n }), fc.integer({ min: 0, max: 12 }), fc.boolean())
    .map(([v, places, pad]) => {
      const digits = v.toString().padStart(places + 1, "0")
      const text = places === 0 ? digits : `${digits.slice(0, -places)}.${digits.slice(-places)}`
      return pad && places > 0 ? `${text}00` : text
    })
  const count = fc.oneof(fc.integer({ min: 0, max: 2_000_000 }), fc.constantFrom(null, -5, 12.7, 2 ** 53 + 2, 1e18, 1e300))
  it.prop(
    "quote writes exactly what costOf computes, whatever the rates and counts",
    [
      fc.record({
        provider: fc.constantFrom("openai", "anthropic", "google"),
        input: rate,
        output: rate,
        cachedInput: fc.option(rate, { nil: undefined }),
        cacheWrite: fc.option(rate, { nil: undefined }),
        long: fc.option(fc.record({ above: fc.integer({ min: 0, max: 300_000 }), input: rate, output: rate, cachedInput: fc.option(rate, { nil: undefined }) }), { nil: undefined })
      }),
      fc.record({ input_tokens: count, output_tokens: count, cached_tokens: count, reasoning_tokens: count, cache_write: count })
    ],
    ([r, u]) => {
      const price: Pricing.ModelPrice = {
        provider: r.provider,
        model: "m",
        input: r.input,
        output: r.output,
        ...(r.cachedInput === undefined ? {} : { cachedInput: r.cachedInput }),
        ...(r.cacheWrite === undefined ? {} : { cacheWrite: r.cacheWrite }),
        ...(r.long === undefined ? {} : { longContext: r.long })
      }
      const service = Pricing.make([price])
      // twice: the second answer comes from what the service remembered
      for (let i = 0; i < 2; i++) expect(service.quote(r.provider, "m", u).cost).toBe(Pricing.formatUsd(Pricing.costOf(price, u)))
    },
    { fastCheck: { numRuns: Number(process.env["PROP_RUNS"] ?? 1000) } }
  )
})
