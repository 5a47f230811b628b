import { spawn, spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { VERSION } from "../src/internal/version.js"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { BIN, ROOT } from "./helpers.js"

// The package as a user meets it: its own name resolves through "exports" (self-reference).
const run = (code: string) => spawnSync(process.execPath, ["--input-type=module", "-e", code], { cwd: ROOT, encoding: "utf8" })

interface Manifest {
  readonly version: string
  readonly license?: string
  readonly engines: { readonly node: string }
  readonly files: ReadonlyArray<string>
  readonly scripts: Record<string, string>
  readonly exports: Record<string, unknown>
  readonly typesVersions?: Record<string, Record<string, ReadonlyArray<string>>>
  readonly dependencies?: Record<string, string>
  readonly devDependencies?: Record<string, string>
  readonly peerDependencies?: Record<string, string>
  readonly peerDependenciesMeta?: Record<string, { readonly optional?: boolean }>
}
interface LockEntry {
  readonly version?: string
  readonly resolved?: string
  readonly integrity?: string
  readonly bin?: Record<string, string>
  readonly dev?: boolean
  readonly optional?: boolean
  readonly engines?: Record<string, string> | ReadonlyArray<string>
  readonly dependencies?: Record<string, string>
  readonly optionalDependencies?: Record<string, string>
  readonly peerDependencies?: Record<string, string>
  readonly peerDependenciesMeta?: Record<string, { readonly optional?: boolean }>
}

const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as Manifest
const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
  readonly packages: Record<string, LockEntry>
}
/** The public modules: every top-level file of src/ but the index, which is the root. */
const PUBLIC = readdirSync(join(ROOT, "src"))
  .filter((f) => f.endsWith(".ts") && f !== "index.ts")
  .map((f) => f.slice(0, -3))
  .sort()
/** What the library is built on: the app's own copies, one each. */
const EFFECT = ["effect", "@effect/platform", "@effect/platform-node", "@effect/cli"]
/** What the README tells an app to install beside acttrace (@effect/ai for acttrace/CaptureAi). */
const APP = ["effect", "@effect/platform", "@effect/platform-node", "@effect/ai"]

// --- semver ranges, as far as engines and peer ranges in this tree use them ---------------------

type Version = readonly [number, number, number]
const cmp = (a: Version, b: Version): number => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]
/** A version, possibly partial (`20`, `20.12`, `1.x`): its numbers and how many were given. */
const partial = (text: string): { readonly v: Version; readonly given: number } => {
  const m = /^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/.exec(text)
  if (m === null) throw new Error(`not a version: ${JSON.stringify(text)}`)
  const parts = [m[1], m[2], m[3]].filter((p): p is string => p !== undefined && !/^[xX*]$/.test(p)).map(Number)
  return { v: [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0], given: parts.length }
}
/** The first version above a partial one (`20` → 21.0.0, `20.12` → 20.13.0). */
const above = ({ v, given }: { readonly v: Version; readonly given: number }): Version =>
  given === 0 ? [Infinity, 0, 0] : given === 1 ? [v[0] + 1, 0, 0] : given === 2 ? [v[0], v[1] + 1, 0] : [v[0], v[1], v[2] + 1]
const comparator = (token: string, at: Version): boolean => {
  const m = /^(>=|<=|>|<|=|\^|~)?(.*)$/.exec(token)!
  const op = m[1] ?? ""
  const p = partial(m[2]!)
  const { v, given } = p
  switch (op) {
    case ">=": return cmp(at, v) >= 0
    case ">": return given === 3 ? cmp(at, v) > 0 : cmp(at, above(p)) >= 0
    case "<": return cmp(at, v) < 0
    case "<=": return cmp(at, above(p)) < 0
    case "~": return cmp(at, v) >= 0 && cmp(at, above({ v, given: Math.min(given, 2) })) < 0
    case "^": {
      const upTo = v[0] > 0 || given < 2 ? 1 : v[1] > 0 || given < 3 ? 2 : 3
      return cmp(at, v) >= 0 && cmp(at, above({ v, given: upTo })) < 0
    }
    default: return cmp(at, v) >= 0 && cmp(at, above(p)) < 0
  }
}
/** Whether a semver range admits a version. Throws on what it does not understand. */
const admits = (range: string, version: string): boolean => {
  const at = partial(version).v
  return range.split("||").some((alternative) => {
    const text = alternative.trim().replace(/(>=|<=|>|<|=|\^|~)\s+/g, "$1")
    if (text === "" || text === "*") return true
    const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(text)
    if (hyphen) return comparator(`>=${hyphen[1]}`, at) && comparator(`<=${hyphen[2]}`, at)
    return text.split(/\s+/).every((token) => comparator(token, at))
  })
}

// --- the packed package installed into a consumer app, without the network ----------------------

/** Where a package required from `from` (a lockfile location) is found, as Node would look. */
const locate = (from: string, name: string): string | undefined => {
  for (let base = from; ; base = base.slice(0, base.lastIndexOf("node_modules/")).replace(/\/$/, "")) {
    const at = `${base === "" ? "" : `${base}/`}node_modules/${name}`
    if (lock.packages[at] !== undefined) return at
    if (base === "") return undefined
  }
}

/**
 * An app's lockfile: APP at the versions this repository locks, with everything they need (their
 * dependencies and required peers, and the tarball's own dependencies), and acttrace from the
 * tarball. `npm ci --offline` installs it from the cache the repository's `npm ci` filled (the
 * tarballs, and the packuments npm reads where a lockfile names no tarball URL), and refuses
 * (ENOTCACHED, or a lockfile out of step) if the tarball asks for anything else.
 */
const consumerLock = (tarball: string, packed: Manifest) => {
  const packages: Record<string, Omit<LockEntry, "dev">> = {}
  const queue = [...APP, ...Object.keys(packed.dependencies ?? {})].map((name) => {
    const at = locate("", name)
    if (at === undefined) throw new Error(`${name} is not in package-lock.json`)
    return at
  })
  for (let at = queue.pop(); at !== undefined; at = queue.pop()) {
    if (packages[at] !== undefined) continue
    const { dev: _dev, ...entry } = lock.packages[at]!
    packages[at] = entry
    const optionalPeers = entry.peerDependenciesMeta ?? {}
    const edges: Array<[string, boolean]> = [
      ...Object.keys(entry.dependencies ?? {}).map((n): [string, boolean] => [n, false]),
      ...Object.keys(entry.optionalDependencies ?? {}).map((n): [string, boolean] => [n, true]),
      ...Object.keys(entry.peerDependencies ?? {}).map((n): [string, boolean] => [n, optionalPeers[n]?.optional === true])
    ]
    for (const [name, optional] of edges) {
      const found = locate(at, name)
      if (found !== undefined) queue.push(found)
      else if (!optional) throw new Error(`${at} needs ${name}, which package-lock.json lacks`)
    }
  }
  const integrity = `sha512-${createHash("sha512").update(readFileSync(tarball)).digest("base64")}`
  packages["node_modules/acttrace"] = {
    version: packed.version,
    resolved: "file:acttrace.tgz",
    integrity,
    ...(packed.dependencies && { dependencies: packed.dependencies }),
    ...(packed.peerDependencies && { peerDependencies: packed.peerDependencies }),
    ...(packed.peerDependenciesMeta && { peerDependenciesMeta: packed.peerDependenciesMeta }),
    bin: { acttrace: "bin/acttrace.js" },
    engines: packed.engines
  }
  const dependencies = {
    acttrace: "file:acttrace.tgz",
    ...Object.fromEntries(APP.map((name) => [name, lock.packages[locate("", name)!]!.version!]))
  }
  return {
    manifest: { name: "consumer", private: true, type: "module", dependencies },
    lock: { name: "consumer", lockfileVersion: 3, requires: true, packages: { "": { name: "consumer", dependencies }, ...packages } }
  }
}

/** npm as a user runs it: none of the settings npm passes to the scripts it runs (`npm test`). */
const npmEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^npm_/i.test(k) || /^npm_config_(cache|userconfig|registry)$/i.test(k)) env[k] = v
  }
  return env
}
const npm = (args: ReadonlyArray<string>, cwd: string) => {
  const r = spawnSync("npm", [...args], { cwd, encoding: "utf8", env: npmEnv(), timeout: 120_000 })
  if (r.status !== 0) throw new Error(`npm ${args.join(" ")} (exit ${r.status}):\n${r.stderr}${r.stdout}`)
  return r.stdout
}
/** A process run to its end, as a promise: several type-checks run at once. */
const exec = (command: string, args: ReadonlyArray<string>, cwd: string) =>
  new Promise<{ readonly code: number | null; readonly output: string }>((resolve, reject) => {
    const child = spawn(command, [...args], { cwd, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout.on("data", (d: Buffer) => (output += d.toString()))
    child.stderr.on("data", (d: Buffer) => (output += d.toString()))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, output }))
  })

/**
 * One check reads every declaration file (`skipLibCheck: false`: acttrace's and Effect's) and
 * emits the app for node to run; the others check how the imports resolve, and the probes in
 * check.ts fail if a module's types came out as `any`. (Reading Effect's declarations four times
 * would cost half a minute on a busy machine, to learn the same thing.)
 */
const RESOLUTIONS = {
  nodenext: { module: "nodenext", moduleResolution: "nodenext", skipLibCheck: false, noEmit: false, outDir: "out" },
  node16: { module: "node16", moduleResolution: "node16", skipLibCheck: true },
  bundler: { module: "esnext", moduleResolution: "bundler", skipLibCheck: true },
  node10: { module: "esnext", moduleResolution: "node10", skipLibCheck: true }
} as const
type Resolution = keyof typeof RESOLUTIONS

describe("package", () => {
  it("exposes the modules by name and as namespaces", () => {
    const r = run(`
      const root = await import("acttrace")
      const verify = await import("acttrace/Verify")
      const canonical = await import("acttrace/Canonical")
      console.log([typeof root.Verify.file, typeof verify.stream, typeof canonical.encode, typeof root.Signer.layerHmac].join(","))
    `)
    expect(r.stderr).toBe("")
    expect(r.stdout.trim()).toBe("function,function,function,function")
  })

  it("keeps internal modules closed", () => {
    const r = run(`await import("acttrace/internal/hmac")`)
    expect(r.status).not.toBe(0)
    expect(r.stderr).toMatch(/ERR_PACKAGE_PATH_NOT_EXPORTED/)
  })

  it("ships an executable bin", () => {
    expect(statSync(BIN).mode & 0o111).not.toBe(0)
    const r = spawnSync(BIN, ["--version"], { encoding: "utf8" })
    expect(r.status).toBe(0)
    expect(r.stdout).toContain(VERSION)
  })

  it("states the version package.json has", () => {
    expect(VERSION).toBe(manifest.version)
  })
})

describe("package.json: what an app installs", () => {
  it("takes effect and the @effect packages from the app (peers, Effect 3 ranges), never a copy of its own (issue 12 item 6)", () => {
    for (const name of EFFECT) {
      const locked = lock.packages[`node_modules/${name}`]?.version
      expect(locked, `${name} is locked for development`).toBeDefined()
      // a dependency of its own would give an app on another effect 3.x a second, nested copy
      expect(manifest.dependencies?.[name], `${name} in dependencies`).toBeUndefined()
      const peer = manifest.peerDependencies?.[name]
      expect(peer, `${name} in peerDependencies`).toMatch(/^\^\d+\.\d+\.\d+$/)
      expect(admits(peer!, locked!), `${name} ${peer} admits the locked ${locked}`).toBe(true)
      expect(manifest.devDependencies?.[name], `${name} in devDependencies`).toBe(locked)
    }
    expect(manifest.peerDependencies?.["effect"]).toMatch(/^\^3\./)
    expect(admits(manifest.peerDependencies!["effect"]!, "4.0.0")).toBe(false)
    // the bundled CLI carries its own @effect/cli; the library never loads it
    expect(manifest.peerDependenciesMeta?.["@effect/cli"]?.optional).toBe(true)
    expect(manifest.peerDependenciesMeta?.["@effect/ai"]?.optional).toBe(true)
    for (const name of ["effect", "@effect/platform", "@effect/platform-node"]) {
      expect(manifest.peerDependenciesMeta?.[name]?.optional, `${name} is a required peer`).not.toBe(true)
    }
    // the only runtime dependencies: checks the detectors use (IBAN, BIC, IP; phone numbers)
    expect(Object.keys(manifest.dependencies ?? {})).toEqual(["libphonenumber-js", "validator"])
  })

  it("runs no build when installed: only packing builds (issue 12 item 7)", () => {
    for (const script of ["preinstall", "install", "postinstall", "prepare"]) {
      expect(manifest.scripts[script], `scripts.${script}`).toBeUndefined()
    }
    expect(manifest.scripts["prepack"]).toMatch(/npm run build/)
    // a fresh `npm ci` builds nothing: everything the README runs after it builds first
    for (const script of ["test", "demo", "fuzz", "bench"]) {
      expect(manifest.scripts[script], `scripts.${script}`).toMatch(/^npm run build && /)
    }
    expect(manifest.scripts["check"]).toMatch(/^node scripts\/build-kernel\.mjs && /)
  })

  it("exports the root and each public module by name, and (typesVersions) to node10 resolution (issue 12 item 8)", () => {
    const expected: Record<string, unknown> = {
      ".": { types: "./dist/index.d.ts", default: "./dist/index.js" },
      "./package.json": "./package.json"
    }
    for (const m of PUBLIC) expected[`./${m}`] = { types: `./dist/${m}.d.ts`, default: `./dist/${m}.js` }
    expect(manifest.exports).toEqual(expected)
    expect(manifest.typesVersions).toEqual({ "*": Object.fromEntries(PUBLIC.map((m) => [m, [`./dist/${m}.d.ts`]])) })
  })
})

describe("package.json: the Node range it declares (issue 12 item 9)", () => {
  const floor = /^>=\s*(\d+\.\d+(?:\.\d+)?)$/.exec(manifest.engines.node)?.[1]

  it("reads semver ranges as npm does", () => {
    expect(floor).toBe("20.18.1")
    expect(admits(">=22.0.0", floor!)).toBe(false) // openai 7
    expect(admits("^20.19.0 || >=22.12.0", floor!)).toBe(false) // vite 7
    expect(admits(">=20.18.1", "20.12.0")).toBe(false) // undici 7, under @effect/platform-node
    expect(admits("^18.0.0 || ^20.0.0 || >=22.0.0", floor!)).toBe(true)
    expect(admits(">= 0.10", floor!)).toBe(true)
    expect(admits("^10 || ^12 || ^13.7 || ^14 || >=15.0.1", floor!)).toBe(true)
    expect(admits("^0.97.2", "0.98.0")).toBe(false)
    expect(admits("^0.97.2", "0.97.9")).toBe(true)
    expect(admits("<=20", "20.99.1")).toBe(true)
    expect(admits("~20.11", "20.12.0")).toBe(false)
    expect(admits("18 - 20.11", "20.12.0")).toBe(false)
  })

  it("every package a development install holds supports it (engines.node), the app's peers and their dependencies too", () => {
    const refused: Array<string> = []
    for (const [at, entry] of Object.entries(lock.packages)) {
      if (at === "") continue
      const node = Array.isArray(entry.engines) ? undefined : (entry.engines as Record<string, string> | undefined)?.["node"]
      if (node !== undefined && !admits(node, floor!)) refused.push(`${at}@${entry.version} wants node ${node}`)
    }
    expect(refused).toEqual([])
    for (const name of Object.keys(manifest.devDependencies ?? {})) {
      expect(lock.packages[`node_modules/${name}`], `${name} is installed`).toBeDefined()
    }
  })
})

describe("the packed package, installed into an app without network", () => {
  let dir = ""
  let app = ""
  let files: ReadonlyArray<string> = []
  let tarballPath = ""
  let packed: Manifest
  const checks: Partial<Record<Resolution, Promise<{ readonly code: number | null; readonly output: string }>>> = {}

  beforeAll(() => {
    if (!existsSync(join(ROOT, "dist", "index.d.ts"))) throw new Error("dist/ is missing: run `npm run build` first")
    dir = mkdtempSync(join(tmpdir(), "acttrace-consumer-"))
    app = join(dir, "app")
    // --ignore-scripts: pack what `npm test` just built, without building again (prepack would)
    const [info] = JSON.parse(npm(["pack", "--ignore-scripts", "--json", "--pack-destination", dir], ROOT)) as Array<{
      readonly filename: string
      readonly files: ReadonlyArray<{ readonly path: string }>
    }>
    files = info!.files.map((f) => f.path)
    const tarball = join(dir, info!.filename)
    tarballPath = tarball
    packed = JSON.parse(spawnSync("tar", ["-xzOf", tarball, "package/package.json"], { encoding: "utf8" }).stdout) as Manifest
    const { lock: appLock, manifest: appManifest } = consumerLock(tarball, packed)
    mkdirSync(app)
    copyFileSync(tarball, join(app, "acttrace.tgz"))
    writeFileSync(join(app, "package.json"), JSON.stringify(appManifest, null, 2))
    writeFileSync(join(app, "package-lock.json"), JSON.stringify(appLock, null, 2))
    npm(["ci", "--offline", "--no-audit", "--no-fund", "--ignore-scripts"], app)
    for (const f of ["run.ts", "check.ts"]) copyFileSync(join(ROOT, "test", "fixtures", "consumer-app", f), join(app, f))
    const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc")
    for (const [name, options] of Object.entries(RESOLUTIONS) as Array<[Resolution, (typeof RESOLUTIONS)[Resolution]]>) {
      writeFileSync(
        join(app, `tsconfig.${name}.json`),
        JSON.stringify({
          compilerOptions: {
            target: "ES2022",
            // what Effect's own declarations need (URL, AbortSignal, ReadableStream …); no @types/node
            lib: ["ES2022", "DOM", "DOM.Iterable"],
            types: [],
            strict: true,
            exactOptionalPropertyTypes: true,
            noUncheckedIndexedAccess: true,
            noEmit: true,
            ...options
          },
          files: ["run.ts", "check.ts"]
        })
      )
      checks[name] = exec(process.execPath, [tsc, "-p", `tsconfig.${name}.json`, "--pretty", "false"], app)
    }
  }, 180_000)

  afterAll(async () => {
    await Promise.all(Object.values(checks))
    if (dir !== "") rmSync(dir, { recursive: true, force: true })
  })

  it("ships docs/ and every file README.md and docs/ link to (issue 12 item 7)", () => {
    expect(files).toContain("docs/guarantees.md")
    const linked = ["README.md", ...readdirSync(join(ROOT, "docs")).map((f) => `docs/${f}`)].flatMap((doc) =>
      [...readFileSync(join(ROOT, doc), "utf8").matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
        .map((m) => m[1]!)
        .filter((target) => !/^[a-z]+:/.test(target))
        .map((target) => join(doc.includes("/") ? "docs" : "", target))
    )
    expect(linked.length).toBeGreaterThan(4)
    expect(linked.filter((f) => !files.includes(f))).toEqual([])
    expect(packed.scripts["prepare"]).toBeUndefined()
  })

  it("ships the license package.json names (MIT), as a LICENSE file", () => {
    expect(manifest.license).toBe("MIT")
    expect(files).toContain("LICENSE")
    const text = spawnSync("tar", ["-xzOf", tarballPath, "package/LICENSE"], { encoding: "utf8" }).stdout
    expect(text).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} acttrace contributors\n/)
    expect(text).toContain("THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND")
  })

  it("ships no test material: no tests, benches, fixtures or their builds", () => {
    const testOnly = files.filter((f) => /^(test|bench|dist-bench|wasm|scripts)\/|(^|\/)fixtures[./]|\.test\.|(^|\/)\.ci\//.test(f))
    expect(testOnly).toEqual([])
    // what the package does ship: the build, the sources its source maps name, the bin and the docs
    expect(files.filter((f) => !/^(dist|src|docs|bin)\//.test(f)).sort()).toEqual(["LICENSE", "README.md", "package.json"])
  })

  it("installs beside the app's own effect and @effect packages: one copy of each, every peer met (issue 12 item 6)", () => {
    const copies = (name: string) =>
      spawnSync("find", ["node_modules", "-path", `*node_modules/${name}/package.json`], { cwd: app, encoding: "utf8" })
        .stdout.split("\n").filter(Boolean)
    for (const name of ["effect", "@effect/platform", "@effect/platform-node"]) {
      expect(copies(name), name).toEqual([`node_modules/${name}/package.json`])
    }
    expect(existsSync(join(app, "node_modules", "acttrace", "node_modules"))).toBe(false)
    // npm's own judgement of the tree: every dependency and peer range met
    const ls = spawnSync("npm", ["ls", "--all", "--offline"], { cwd: app, encoding: "utf8", env: npmEnv() })
    expect(ls.stderr).toBe("")
    expect(ls.status).toBe(0)
  })

  it.each(Object.keys(RESOLUTIONS) as Array<Resolution>)(
    "type-checks the root and every public module under moduleResolution %s, without @types/node (issue 12 items 7, 8)",
    async (name) => {
      const source = readFileSync(join(app, "run.ts"), "utf8")
      for (const m of PUBLIC) expect(source, `run.ts imports acttrace/${m}`).toContain(`from "acttrace/${m}"`)
      const { code, output } = await checks[name]!
      expect(output).toBe("")
      expect(code).toBe(0)
    },
    120_000
  )

  it("runs: node imports the installed package's root and modules (ESM), and its bin runs without @effect/cli (issue 12 item 8)", async () => {
    const compiled = await checks.nodenext!
    expect(compiled.output).toBe("")
    const r = spawnSync(process.execPath, ["out/run.js"], { cwd: app, encoding: "utf8" })
    expect(r.stderr).toBe("")
    const out = JSON.parse(r.stdout) as Record<string, unknown>
    expect(out).toEqual({
      modules: PUBLIC,
      empty: [],
      root: PUBLIC.filter((m) => m !== "CaptureAi"),
      sameVerify: true,
      canonical: '{"a":[true,null,"é"],"b":1}',
      findings: ["email"],
      malformed: "MalformedLine",
      unreadable: "Unreadable",
      empty256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    })
    expect(existsSync(join(app, "node_modules", "@effect", "cli"))).toBe(false)
    const bin = spawnSync(join(app, "node_modules", ".bin", "acttrace"), ["--version"], { cwd: app, encoding: "utf8" })
    expect(bin.stderr).toBe("")
    expect(bin.stdout).toContain(VERSION)
  }, 120_000)
})
