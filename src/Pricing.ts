/**
 * What a model call cost, in exact decimals. Each `llm_call` carries `cost` as
 * `"<amount> USD"` (FORMAT A.6: never a float), computed from the provider's token counts and a
 * price table. A model the table does not know gets `cost: null` and one warning, never a guess.
 *
 * The bundled table (`bundled`) is dated and names its sources; prices change, so apps that need
 * their negotiated or current prices supply their own with `layerPrices`.
 *
 * @since 0.1.0
 */
import * as BigDecimal from "effect/BigDecimal"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/**
 * Token counts of one call as the provider reported them (FORMAT A.6 `usage`). For Anthropic,
 * `input_tokens` excludes cache reads and writes; for OpenAI and Google it includes cached tokens.
 *
 * @since 0.1.0
 * @category models
 */
export interface Usage {
  readonly input_tokens: number | null
  readonly output_tokens: number | null
  readonly cached_tokens: number | null
  readonly reasoning_tokens: number | null
  readonly cache_write: number | null
}

/**
 * Prices of one model in USD per million tokens, as decimal strings.
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelPrice {
  readonly provider: string
  readonly model: string
  readonly input: string
  readonly output: string
  /** cache reads (cached input tokens); `input` when absent */
  readonly cachedInput?: string | undefined
  /** cache writes (Anthropic's `cache_creation_input_tokens`); `input` when absent */
  readonly cacheWrite?: string | undefined
  /** prices above a prompt size (Gemini 2.5 Pro above 200k tokens) */
  readonly longContext?: { readonly above: number; readonly input: string; readonly output: string; readonly cachedInput?: string | undefined } | undefined
}

/**
 * A dated price table.
 *
 * @since 0.1.0
 * @category models
 */
export interface PriceTable {
  readonly asOf: string
  readonly source: string
  readonly models: ReadonlyArray<ModelPrice>
}

const p = (provider: string, model: string, input: string, output: string, cachedInput?: string, cacheWrite?: string): ModelPrice => ({
  provider,
  model,
  input,
  output,
  ...(cachedInput === undefined ? {} : { cachedInput }),
  ...(cacheWrite === undefined ? {} : { cacheWrite })
})

/**
 * List prices (standard tier, USD per million tokens) as the providers published them. Batch,
 * priority and regional prices differ and are not here.
 *
 * @since 0.1.0
 * @category constants
 */
export const bundled: PriceTable = {
  asOf: "2025-11-25",
  source:
    "openai.com/api/pricing (standard tier); docs.claude.com/en/docs/about-claude/pricing (5-minute cache writes); ai.google.dev/gemini-api/docs/pricing (paid tier)",
  models: [
    p("openai", "gpt-5", "1.25", "10.00", "0.125"),
    p("openai", "gpt-5-mini", "0.25", "2.00", "0.025"),
    p("openai", "gpt-5-nano", "0.05", "0.40", "0.005"),
    p("openai", "gpt-4.1", "2.00", "8.00", "0.50"),
    p("openai", "gpt-4.1-mini", "0.40", "1.60", "0.10"),
    p("openai", "gpt-4.1-nano", "0.10", "0.40", "0.025"),
    p("openai", "gpt-4o", "2.50", "10.00", "1.25"),
    p("openai", "gpt-4o-mini", "0.15", "0.60", "0.075"),
    p("openai", "o1", "15.00", "60.00", "7.50"),
    p("openai", "o3", "2.00", "8.00", "0.50"),
    p("openai", "o3-mini", "1.10", "4.40", "0.55"),
    p("openai", "o4-mini", "1.10", "4.40", "0.275"),
    p("anthropic", "claude-opus-4-5", "5", "25", "0.50", "6.25"),
    p("anthropic", "claude-opus-4-1", "15", "75", "1.50", "18.75"),
    p("anthropic", "claude-opus-4", "15", "75", "1.50", "18.75"),
    p("anthropic", "claude-opus-4-0", "15", "75", "1.50", "18.75"),
    p("anthropic", "claude-sonnet-4-5", "3", "15", "0.30", "3.75"),
    p("anthropic", "claude-sonnet-4", "3", "15", "0.30", "3.75"),
    p("anthropic", "claude-sonnet-4-0", "3", "15", "0.30", "3.75"),
    p("anthropic", "claude-3-7-sonnet", "3", "15", "0.30", "3.75"),
    p("anthropic", "claude-haiku-4-5", "1", "5", "0.10", "1.25"),
    p("anthropic", "claude-3-5-haiku", "0.80", "4", "0.08", "1"),
    p("anthropic", "claude-3-haiku", "0.25", "1.25", "0.03", "0.30"),
    {
      ...p("google", "gemini-2.5-pro", "1.25", "10.00", "0.125"),
      longContext: { above: 200_000, input: "2.50", output: "15.00", cachedInput: "0.25" }
    },
    p("google", "gemini-2.5-flash", "0.30", "2.50", "0.03"),
    p("google", "gemini-2.5-flash-lite", "0.10", "0.40", "0.01"),
    p("google", "gemini-2.0-flash", "0.10", "0.40", "0.025"),
    p("google", "gemini-2.0-flash-lite", "0.075", "0.30")
  ]
}

/**
 * A custom price that is not a non-negative decimal number.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidPrice extends Schema.TaggedError<InvalidPrice>()("InvalidPrice", {
  provider: Schema.String,
  model: Schema.String,
  rate: Schema.String
}) {
  override get message(): string {
    return `${this.provider}/${this.model}: "${this.rate}" is not a non-negative decimal number of USD per million tokens`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PricingService {
  /** the price of a model, matched exactly or as a dated or versioned snapshot of it */
  readonly price: (provider: string | null, model: string | null) => Option.Option<ModelPrice>
  /** The cost of one call as `"<amount> USD"` (`null` without usage), or `known: false`. */
  readonly quote: (provider: string | null, model: string | null, usage: Usage | null) => { readonly cost: string | null; readonly known: boolean }
  /**
   * The cost of one call as `"<amount> USD"`, or `null` when the model is unknown (logged once
   * per model) or the usage was not reported.
   */
  readonly cost: (provider: string | null, model: string | null, usage: Usage | null) => Effect.Effect<string | null>
}

/**
 * Model prices; the bundled table unless a layer supplies another.
 *
 * @since 0.1.0
 * @category tags
 */
export class Pricing extends Context.Reference<Pricing>()("acttrace/Pricing", {
  defaultValue: (): PricingService => make(bundled.models)
}) {}

/** A snapshot suffix: a date (`-2024-08-06`, `-20250929`), `-latest`, or a version (`-001`). */
const SNAPSHOT = /^-(?:\d{4}-\d{2}-\d{2}|\d{8}|latest|\d{3})$/

/** Per token: a per-million rate moved six places (parsed once per rate). */
const rates = new Map<string, BigDecimal.BigDecimal>()
const perToken = (rate: string): BigDecimal.BigDecimal => {
  let r = rates.get(rate)
  if (r === undefined) {
    const d = BigDecimal.unsafeFromString(rate)
    r = BigDecimal.make(d.value, d.scale + 6)
    if (rates.size < 10_000) rates.set(rate, r)
  }
  return r
}

/**
 * A decimal in plain notation, never exponential (`BigDecimal.format` switches to exponents at
 * 16 places, which a cost of fractions of a cent can reach with custom rates).
 */
const plain = (n: BigDecimal.BigDecimal): string => {
  const d = BigDecimal.normalize(n)
  if (d.scale <= 0) return (d.value * 10n ** BigInt(-d.scale)).toString()
  const negative = d.value < 0n
  const digits = (negative ? -d.value : d.value).toString().padStart(d.scale + 1, "0")
  const text = `${digits.slice(0, digits.length - d.scale)}.${digits.slice(digits.length - d.scale)}`
  return negative ? `-${text}` : text
}

/**
 * The rates that apply (USD per million tokens): input, output, cache reads and cache writes, at
 * the long-context tier or not. A cache read is charged as input when the price names no rate for
 * it, and so is a cache write.
 */
const ratesOf = (price: ModelPrice, long: boolean): readonly [string, string, string, string] => {
  const tier = long ? price.longContext : undefined
  return [tier?.input ?? price.input, tier?.output ?? price.output, tier?.cachedInput ?? price.cachedInput ?? tier?.input ?? price.input, price.cacheWrite ?? price.input]
}

const count = (n: number | null): bigint => (n === null || !Number.isFinite(n) || n < 0 ? 0n : BigInt(Math.trunc(n)))

/**
 * The cost of `usage` at `price`, in USD. Cached and reasoning tokens follow the provider's own
 * accounting: OpenAI and Google count cached tokens inside `input_tokens` and reasoning tokens
 * inside `output_tokens`; Anthropic reports cache reads and writes beside `input_tokens`.
 *
 * @since 0.1.0
 * @category pricing
 */
export const costOf = (price: ModelPrice, usage: Usage): BigDecimal.BigDecimal => {
  const cached = count(usage.cached_tokens)
  const write = count(usage.cache_write)
  const input = count(usage.input_tokens)
  const separate = price.provider === "anthropic"
  const prompt = separate ? input + cached + write : input
  const long = price.longContext !== undefined && prompt > BigInt(price.longContext.above)
  const [inRate, outRate, cachedRate, writeRate] = ratesOf(price, long).map(perToken) as [BigDecimal.BigDecimal, BigDecimal.BigDecimal, BigDecimal.BigDecimal, BigDecimal.BigDecimal]
  const uncached = separate ? input : input > cached ? input - cached : 0n
  const parts = [
    BigDecimal.multiply(inRate, BigDecimal.fromBigInt(uncached)),
    BigDecimal.multiply(cachedRate, BigDecimal.fromBigInt(cached)),
    BigDecimal.multiply(outRate, BigDecimal.fromBigInt(count(usage.output_tokens)))
  ]
  if (separate) parts.push(BigDecimal.multiply(writeRate, BigDecimal.fromBigInt(write)))
  return parts.reduce(BigDecimal.sum)
}

/**
 * The rates of a price as integers over one power of ten (per token), so a call's cost is a few
 * integer products: BigDecimal arithmetic made pricing a tenth of what recording a call costs.
 * `null` when a rate has too many digits for exact double arithmetic (custom prices can).
 */
interface Scaled {
  readonly scale: number
  readonly input: number
  readonly output: number
  readonly cached: number
  readonly write: number
}

const scaledRates = (rates: ReadonlyArray<string>): Scaled | null => {
  const parts = rates.map((r) => {
    const d = BigDecimal.normalize(perToken(r))
    return { value: d.value, scale: d.scale }
  })
  const scale = Math.max(0, ...parts.map((x) => x.scale))
  const values = parts.map((x) => x.value * 10n ** BigInt(scale - x.scale))
  if (values.some((v) => v > BigInt(Number.MAX_SAFE_INTEGER))) return null
  const [input, output, cached, write] = values.map(Number) as [number, number, number, number]
  return { scale, input, output, cached, write }
}

/** Each price's scaled rates (and its long-context tier's), made once. */
const compiled = new WeakMap<ModelPrice, { readonly base: Scaled | null; readonly long: Scaled | null }>()
const compile = (price: ModelPrice) => {
  let c = compiled.get(price)
  if (c === undefined) {
    c = { base: scaledRates(ratesOf(price, false)), long: price.longContext === undefined ? null : scaledRates(ratesOf(price, true)) }
    compiled.set(price, c)
  }
  return c
}

const tokens = (n: number | null): number => (n === null || !Number.isFinite(n) || n < 0 ? 0 : Math.trunc(n))

/** `a * b` when it is exact in a double, else NaN. */
const exactProduct = (a: number, b: number): number => {
  const x = a * b
  return x <= Number.MAX_SAFE_INTEGER ? x : NaN
}

/**
 * The cost as `"<amount> USD"`, the same text as `formatUsd(costOf(price, usage))`: in integers
 * when every product and the sum stay exact, else with `costOf`.
 */
const costText = (price: ModelPrice, usage: Usage): string => {
  const cached = tokens(usage.cached_tokens)
  const write = tokens(usage.cache_write)
  const input = tokens(usage.input_tokens)
  const separate = price.provider === "anthropic"
  const prompt = separate ? input + cached + write : input
  const c = compile(price)
  const rates = price.longContext !== undefined && prompt > price.longContext.above ? c.long : c.base
  if (rates !== null && Number.isSafeInteger(prompt)) {
    const uncached = separate ? input : input > cached ? input - cached : 0
    const total =
      exactProduct(uncached, rates.input) +
      exactProduct(cached, rates.cached) +
      exactProduct(tokens(usage.output_tokens), rates.output) +
      (separate ? exactProduct(write, rates.write) : 0)
    if (total <= Number.MAX_SAFE_INTEGER) return `${decimalText(total, rates.scale)} USD`
  }
  return formatUsd(costOf(price, usage))
}

/** A non-negative safe integer over 10^scale, in `plain` notation (no trailing zeros). */
const decimalText = (n: number, scale: number): string => {
  if (n === 0) return "0"
  let digits = String(n)
  let places = scale
  let end = digits.length
  while (places > 0 && digits.charCodeAt(end - 1) === 48) {
    end--
    places--
  }
  digits = digits.slice(0, end)
  if (places === 0) return digits
  if (digits.length <= places) return `0.${"0".repeat(places - digits.length)}${digits}`
  return `${digits.slice(0, digits.length - places)}.${digits.slice(digits.length - places)}`
}

/**
 * `"<amount> USD"`, the form FORMAT A.6 gives `cost`.
 *
 * @since 0.1.0
 * @category pricing
 */
export const formatUsd = (amount: BigDecimal.BigDecimal): string => `${plain(amount)} USD`

/**
 * A pricing service over a list of model prices. Warnings for unknown models are logged once
 * per provider and model for the life of the service.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (models: ReadonlyArray<ModelPrice>): PricingService => {
  const byKey = new Map<string, ModelPrice>()
  for (const m of models) byKey.set(`${m.provider}\u0000${m.model}`, m)
  const warned = new Set<string>()
  const lookup = (provider: string, model: string): Option.Option<ModelPrice> => {
    const id = model.startsWith("models/") ? model.slice(7) : model
    const exact = byKey.get(`${provider}\u0000${id}`)
    if (exact !== undefined) return Option.some(exact)
    // a snapshot of a listed model: the longest listed name followed by a snapshot suffix
    for (let cut = id.lastIndexOf("-"); cut > 0; cut = id.lastIndexOf("-", cut - 1)) {
      const base = byKey.get(`${provider}\u0000${id.slice(0, cut)}`)
      if (base !== undefined) return SNAPSHOT.test(id.slice(cut)) ? Option.some(base) : Option.none()
    }
    return Option.none()
  }
  // the same few models come back call after call: what a name resolved to is remembered
  const resolved = new Map<string, Map<string, Option.Option<ModelPrice>>>()
  const price = (provider: string | null, model: string | null): Option.Option<ModelPrice> => {
    if (provider === null || model === null) return Option.none()
    let byModel = resolved.get(provider)
    if (byModel === undefined) {
      if (resolved.size >= 64) resolved.clear()
      resolved.set(provider, (byModel = new Map()))
    }
    let found = byModel.get(model)
    if (found === undefined) {
      found = lookup(provider, model)
      if (byModel.size >= 4096) byModel.clear()
      byModel.set(model, found)
    }
    return found
  }
  const quote = (provider: string | null, model: string | null, usage: Usage | null) => {
    const found = price(provider, model)
    if (Option.isNone(found)) return { cost: null, known: false }
    return { cost: usage === null ? null : costText(found.value, usage), known: true }
  }
  return {
    price,
    quote,
    cost: (provider, model, usage) =>
      Effect.suspend(() => {
        const q = quote(provider, model, usage)
        if (q.known) return Effect.succeed(q.cost)
        const key = `${provider}/${model}`
        if (model === null || warned.has(key)) return Effect.succeed(null)
        warned.add(key)
        return Effect.as(
          Effect.logWarning(`acttrace: no price for ${provider ?? "unknown provider"} model ${model}; its calls are recorded with cost null`),
          null
        )
      })
  }
}

/**
 * The bundled table.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Pricing> = Layer.sync(Pricing, () => make(bundled.models))

/**
 * Custom prices. With `extend: true` they are added to the bundled table (and take precedence
 * over it for the same provider and model); otherwise they replace it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPrices = (
  models: ReadonlyArray<ModelPrice>,
  options: { readonly extend?: boolean | undefined } = {}
): Layer.Layer<Pricing, InvalidPrice> =>
  Layer.effect(
    Pricing,
    Effect.gen(function* () {
      for (const m of models) {
        for (const rate of [m.input, m.output, m.cachedInput, m.cacheWrite, m.longContext?.input, m.longContext?.output, m.longContext?.cachedInput]) {
          if (rate !== undefined && (!/^\d+(?:\.\d+)?$/.test(rate) || Option.isNone(BigDecimal.fromString(rate)))) {
            return yield* new InvalidPrice({ provider: m.provider, model: m.model, rate })
          }
        }
      }
      return make(options.extend === true ? [...bundled.models, ...models] : models)
    })
  )
