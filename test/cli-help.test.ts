/**
 * `--help` for every command (issue 16, item 5): a usage line and examples, every option explained,
 * exit codes; plain text on a pipe; none of @effect/cli's options that do nothing for this tool,
 * which are refused when given. Run as the executable (`bin/acttrace.js` on `dist/`).
 */
import { describe, expect, it } from "@effect/vitest"
import { cli } from "./helpers.js"

const ESC = "\u001b"

/** The commands `acttrace --help` lists. */
const listed = (): ReadonlyArray<string> => {
  const help = cli(["--help"]).stdout
  const section = help.split(/\n\n/).find((s) => s.startsWith("Commands:"))!
  return section.split("\n").slice(1).map((l) => /^ {2}([a-z][a-z-]*) /.exec(l)?.[1]).filter((n): n is string => n !== undefined)
}

const COMMANDS = ["verify", "export", "keygen", "checkpoint", "prove", "verify-proof", "consistency", "repair", "scan", "demo", "inspect", "report", "show"]

/** What @effect/cli put in every help page that means nothing here. */
const GENERATED = [/--wizard/, /--completions/, /--log-level/, /A user-defined piece of text/, /This setting is optional/, /A true or false value/, /An integer/]

/** The sections of a help page by their header, as text. */
const sectionsOf = (text: string): Map<string, string> => {
  const m = new Map<string, string>()
  for (const block of text.split(/\n\n/)) {
    const [head, ...rest] = block.split("\n")
    if (head !== undefined && /^[A-Z][a-z ]+:$/.test(head)) m.set(head.slice(0, -1), rest.join("\n"))
  }
  return m
}

describe("acttrace --help", () => {
  it("lists every command with what it does, the synopsis of each, the keys and the exit codes; plain text on a pipe", () => {
    const r = cli(["--help"])
    expect(r.code).toBe(0)
    expect(r.stderr).toBe("")
    expect(r.stdout.includes(ESC)).toBe(false)
    expect(listed()).toEqual(COMMANDS)
    const s = sectionsOf(r.stdout)
    expect([...s.keys()]).toEqual(["Usage", "Commands", "Synopsis", "Examples", "Keys", "Environment", "Exit codes"])
    for (const name of COMMANDS) expect(s.get("Synopsis"), name).toMatch(new RegExp(`^ {2}acttrace ${name} `, "m"))
    expect(s.get("Exit codes")).toMatch(/0 .*1 .*2 /s)
    for (const g of GENERATED) expect(r.stdout).not.toMatch(g)
    // -h and `help` say the same
    expect(cli(["-h"]).stdout).toBe(r.stdout)
    expect(cli(["help"]).stdout).toBe(r.stdout)
  })

  it("no command: the help on stderr, exit 2 (a mistake, not a request), nothing on stdout", () => {
    const r = cli([])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe("")
    expect(r.stderr).toMatch(/^error: give a command\n/)
    expect(r.stderr).toContain("Commands:")
  })
})

describe("acttrace COMMAND --help", () => {
  it.each(COMMANDS)("%s: a usage line, what it does, every option explained, examples, output, exit codes; no generated filler", (name) => {
    const r = cli([name, "--help"])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toBe("")
    expect(r.stdout.includes(ESC)).toBe(false)
    expect(r.stdout.startsWith(`acttrace ${name}: `)).toBe(true)
    const s = sectionsOf(r.stdout)
    expect(s.get("Usage"), r.stdout).toMatch(new RegExp(`^ {2}acttrace ${name}(?: |$)`))
    // every option on a line of its own, its explanation below it
    const options = s.get("Options")!.split("\n")
    const named = options.map((l, i) => [l, i] as const).filter(([l]) => /^ {2}-/.test(l))
    expect(named.length).toBeGreaterThanOrEqual(1)
    for (const [line, i] of named) {
      expect(options[i + 1], line).toMatch(/^ {6}\S/)
      // a value is named for what it is, never by its type
      expect(line, line).not.toMatch(/ (?:text|integer|redacted|directory|VALUE)\b/)
    }
    expect(s.get("Options")).toMatch(/^ {2}-h, --help$/m)
    const examples = s.get("Examples")!.split("\n").filter((l) => l.startsWith("  $ "))
    expect(examples.length, r.stdout).toBeGreaterThan(0)
    expect(examples.filter((e) => new RegExp(`^ {2}\\$ (?:.*\\| )?acttrace ${name} `).test(e)).length, r.stdout).toBeGreaterThan(0)
    // `acttrace` runs one of its commands (an example that pipes another program into it starts with that program)
    for (const e of examples) expect(COMMANDS.concat("help"), e).toContain(/^ {2}\$ (?:acttrace (\S+)|[^|]*\| acttrace (\S+))/.exec(e)?.slice(1).find((w) => w !== undefined))
    expect(s.get("Exit codes")).toMatch(/^ {2}0 {2}\S/m)
    expect(s.get("Exit codes")).toMatch(/^ {2}2 {2}\S/m)
    expect(s.get("Output")?.trim().length ?? 0).toBeGreaterThan(20)
    for (const g of GENERATED) expect(r.stdout, String(g)).not.toMatch(g)
    // -h, `help NAME`, and --help after other arguments say the same; nothing is run
    expect(cli([name, "-h"]).stdout).toBe(r.stdout)
    expect(cli(["help", name]).stdout).toBe(r.stdout)
    expect(cli([name, "no-such-file.jsonl", "--json", "--help"]).stdout).toBe(r.stdout)
  })

  it("verify and export explain --quiet; help names the values of options (--out PACK, --pubkey FILE)", () => {
    for (const name of ["verify", "export"]) expect(cli([name, "--help"]).stdout).toMatch(/^ {2}-q, --quiet\n {6}\S.*progress/m)
    expect(cli(["export", "--help"]).stdout).toMatch(/^ {2}--out PACK$/m)
    expect(cli(["verify", "--help"]).stdout).toMatch(/^ {2}--pubkey FILE \(repeatable\)$/m)
    expect(cli(["scan", "--help"]).stdout).toMatch(/^ {2}--detectors \[\+\|-\]NAME\[,\.\.\.\]$/m)
  })
})

describe("@effect/cli's own options are refused", () => {
  it.each([["--wizard"], ["--completions", "bash"], ["--completions=zsh"], ["--log-level", "debug"]])("verify x %s: unknown option, exit 2, nothing run", (...flag) => {
    const r = cli(["verify", "x.jsonl", ...flag])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe("")
    expect(r.stderr.split("\n")[0]).toBe(`error: unknown option "${flag[0]!.split("=")[0]}" for verify`)
    expect(r.stderr).toMatch(/^usage: acttrace verify /m)
  })

  it("an option the command does not have: named, never taken for a file; a parse error in the same one-line form", () => {
    const r = cli(["scan", "--bogus"])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe("")
    expect(r.stderr.split("\n")[0]).toBe('error: unknown option "--bogus" for scan')
    const missing = cli(["consistency", "old.jsonl"])
    expect(missing.code).toBe(2)
    expect(missing.stderr.split("\n")[0]).toBe("error: Missing argument <NEW>")
    expect(missing.stderr.split("\n")[1]).toMatch(/^usage: acttrace consistency /)
    const number = cli(["verify", "x.jsonl", "--threads", "two"])
    expect(number.stderr.split("\n")[0]).toBe("error: 'two' is not an integer")
  })

  it("an unknown command: named, with the commands there are, exit 2", () => {
    const r = cli(["frobnicate"])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe("")
    expect(r.stderr).toMatch(/^error: unknown command "frobnicate": the commands are verify, export, .*show\n/)
  })

  it("--version: the version alone", () => {
    const r = cli(["--version"])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+\n$/)
  })
})
