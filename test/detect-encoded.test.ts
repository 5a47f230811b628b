/**
 * Base64 of text that holds a credential (issue 15, the fourth review: a Kubernetes Secret's
 * `data`, as `kubectl get secret -o yaml` prints it, was kept whole): found under any name, in
 * YAML, env, JSON text and as a field's value; the name and the layout kept. Base64 of text with
 * no credential, of binary data, and ids that happen to be base64 are kept.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import { generateKeyPairSync } from "node:crypto"
import * as Detect from "../src/Detect.js"
import { encoded } from "../src/internal/encoded.js"
import { cpuBest, randomOf } from "./helpers.js"

const R = Detect.REPLACEMENT
const RUNS = Number(process.env["PROP_RUNS"] ?? (process.env["ACTTRACE_LONG"] === "1" ? 600 : 150))
const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64")
const B62 = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
const pw = randomOf(B62 + "!#%*+-.^_~", 8, 20).map((v) => `${v}Q7`)
const host = fc.constantFrom("db", "db.internal", "postgres.prod.svc.cluster.local", "10.0.0.5", "registry.example.com")

/** text holding a credential, as configs encode it */
const credentialText = fc.oneof(
  fc.tuple(fc.constantFrom("postgres", "mysql", "redis", "amqp", "mongodb+srv", "https"), fc.constantFrom("app", "admin", "svc_user"), pw, host).map(([s, u, p, h]) => `${s}://${u}:${encodeURIComponent(p)}@${h}:5432/app`),
  fc.tuple(host, fc.constantFrom("bob", "ci"), pw).map(([h, u, p]) => JSON.stringify({ auths: { [h]: { username: u, password: p, auth: b64(`${u}:${p}`) } } })),
  fc.tuple(fc.constantFrom("DB_PASSWORD", "API_TOKEN", "client_secret", "SECRET_KEY", "apiKey"), pw).map(([k, p]) => `${k}=${p}\nLOG_LEVEL=info\n`),
  fc.tuple(fc.constantFrom("password", "token", "secret"), pw).map(([k, p]) => `user: bob\n${k}: ${p}\n`),
  randomOf("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, 16).map((k) => `aws_access_key_id = AKIA${k}\n`),
  fc.constant(generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString())
)
const name = fc.constantFrom("DATABASE_URL", ".dockerconfigjson", "config.json", "env", "settings", "connection", "REDIS_URL", "values.yaml")
const layouts: ReadonlyArray<(k: string, v: string) => string> = [
  (k, v) => `apiVersion: v1\ndata:\n  ${k}: ${v}\n  LOG_LEVEL: ZGVidWc=\nkind: Secret\n`,
  (k, v) => `{"apiVersion":"v1","data":{"${k}":"${v}"},"kind":"Secret"}`,
  (k, v) => `${k.replace(/\W/g, "_").toUpperCase()}=${v}`,
  (k, v) => `export ${k.replace(/\W/g, "_").toUpperCase()}="${v}"`,
  (k, v) => `  ${k}: '${v}'`
]

describe("base64 of text holding a credential", () => {
  it.prop("under any name, in a Secret's data (YAML, JSON), env and YAML lines: the value replaced, the name kept", [credentialText, name, fc.nat(layouts.length - 1)], ([text, k, i]) => {
    const v = b64(text)
    const line = layouts[i]!(k, v)
    const out = Detect.redact(line, Detect.Policy.default).value
    expect(out, line).toBe(layouts[i]!(k, R))
  }, { fastCheck: { numRuns: RUNS } })

  it.prop("as a field's value (an object handed over), under any name", [credentialText, name], ([text, k]) => {
    const r = Detect.redact({ data: { [k]: b64(text), LOG_LEVEL: b64("debug") } }, Detect.Policy.default)
    expect(r.value).toEqual({ data: { [k]: R, LOG_LEVEL: b64("debug") } })
    // (base64 of a PEM block is found as a private key by its own detector)
    expect(r.findings.map((f) => `${f.group}:${f.severity}:${f.count}`)).toEqual(["secret:critical:1"])
  }, { fastCheck: { numRuns: RUNS } })

  it("kubectl get secret -o yaml: the two encoded credentials replaced, the plain setting and the metadata kept", () => {
    const url = b64("postgres://app:Kx9mQ2zzP@db:5432/app")
    const docker = b64(JSON.stringify({ auths: { "registry.example.com": { username: "bob", password: "Kx9mQ2zzP", auth: b64("bob:Kx9mQ2zzP") } } }))
    const text = `apiVersion: v1\ndata:\n  .dockerconfigjson: ${docker}\n  DATABASE_URL: ${url}\n  LOG_LEVEL: ${b64("debug")}\nkind: Secret\nmetadata:\n  name: regcred\ntype: kubernetes.io/dockerconfigjson\n`
    expect(Detect.redact(text, Detect.Policy.default).value).toBe(`apiVersion: v1\ndata:\n  .dockerconfigjson: ${R}\n  DATABASE_URL: ${R}\n  LOG_LEVEL: ${b64("debug")}\nkind: Secret\nmetadata:\n  name: regcred\ntype: kubernetes.io/dockerconfigjson\n`)
  })
})

describe("base64 that holds no credential is kept", () => {
  const alone = (v: unknown) => Detect.scan(v, Detect.Policy.flagOnly, encoded).length
  const plain = fc.oneof(
    fc.constantFrom("debug", "production", "true", "8080", "https://api.example.com/v1", "postgres://db:5432/app", "user: bob\nregion: eu-west-1\n", '{"replicas":3,"image":"nginx:1.27"}', "the quick brown fox jumps over the lazy dog", "password: \nnote: set it in the vault"),
    fc.lorem({ maxCount: 12 })
  )
  it.prop("base64 of ordinary text and settings, under any name, in every layout", [plain, name, fc.nat(layouts.length - 1)], ([text, k, i]) => {
    const line = layouts[i]!(k, b64(text))
    expect(alone(line), `${line} (${text})`).toBe(0)
  }, { fastCheck: { numRuns: RUNS } })
  it.prop("base64 of random bytes (keys, digests, nonces: binary, not text), hex digests, UUIDs and ids", [fc.uint8Array({ minLength: 12, maxLength: 96 }), fc.uuid(), randomOf("0123456789abcdef", 32, 64), randomOf(B62, 16, 40)], ([bytes, uuid, hex, id]) => {
    // random bytes decode to text with no control character about once in 10^5 at 12 bytes
    const v = Buffer.from(bytes).toString("base64")
    expect(alone(`nonce: ${v}`) + alone(`id: ${uuid}`) + alone(`sha: ${hex}`) + alone(`request_id=${id}`) + alone({ digest: v }), v).toBe(0)
  }, { fastCheck: { numRuns: RUNS } })
})

describe("linear time: 1 MB built against the pattern", () => {
  const MB = 1024 * 1024
  const fill = (unit: string) => unit.repeat(Math.ceil(MB / unit.length)).slice(0, MB)
  const linear = (s: string) => {
    let h = 0
    for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0
    return h
  }
  const inputs = [
    fill("A"),
    "key: " + fill("A"),
    fill(`k: ${b64("user: bob and more text")}\n`),
    fill(`k: ${b64("password=x")}\n`),
    fill("=AAAAAAAAAAAAAAAA"),
    fill("a: QUFBQUFBQUFBQUFBQUFBQQ== "),
    "x=" + fill("QUJD")
  ]
  it("each input within 400 times a linear pass (processor time)", async () => {
    for (const input of inputs) {
      await new Promise((resolve) => setImmediate(resolve))
      const base = cpuBest(() => linear(input))
      const took = cpuBest(() => Detect.scan(input, Detect.Policy.flagOnly, encoded))
      expect(took, `${JSON.stringify(input.slice(0, 30))}: ${took.toFixed(1)} ms against ${base.toFixed(2)} ms`).toBeLessThan(400 * base + 25)
    }
  }, 120_000)
})
