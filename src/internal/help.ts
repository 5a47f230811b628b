/**
 * `acttrace --help` and `acttrace COMMAND --help`: the help a person reads, written by us instead of
 * @effect/cli's generated page, which listed options that do nothing for this tool (`--wizard`,
 * `--completions`, `--log-level`), said "A user-defined piece of text." under every option, had
 * no examples and no exit codes, and was always coloured.
 *
 * One source for each fact: the options, their arguments and their descriptions are read from the
 * commands themselves (`Command.getHelp`, `Command.getUsage`: what the parser accepts is what the
 * help lists); this module adds what a parser does not know: the synopsis, examples, what is
 * printed, exit codes, and the names of option values (`--key-file FILE`, not `--key-file text`).
 * The shape read from `getUsage` also says which options take a value, for the checks `main` makes
 * before parsing (an option given without its value, `--help` anywhere).
 * @internal
 */
import * as CliConfig from "@effect/cli/CliConfig"
import * as Descriptor from "@effect/cli/CommandDescriptor"
import type * as HelpDoc from "@effect/cli/HelpDoc"
import type * as Span from "@effect/cli/HelpDoc/Span"
import type * as Usage from "@effect/cli/Usage"
import * as Option from "effect/Option"

/**
 * A command's help page: what the parser does not know about it.
 *
 * @since 0.1.0
 * @category help
 */
export interface Page {
  /** the command's name (`verify`) */
  readonly name: string
  /** one line for the list of commands in `acttrace --help` */
  readonly summary: string
  /** the usage lines, without `acttrace ` (as in the README's synopsis) */
  readonly synopsis: ReadonlyArray<string>
  /** examples: the command line (without `acttrace `, unless another command comes first: `git diff | acttrace scan`) and what it does */
  readonly examples: ReadonlyArray<readonly [command: string, what: string]>
  /** what the command prints on stdout (and with --json), in a few sentences */
  readonly output: string
  /** the exit codes and what each means here */
  readonly exit: ReadonlyArray<readonly [code: 0 | 1 | 2, meaning: string]>
  /** the value of an option as help shows it (`--out PACK`), where it is not the generic one of `VALUES` */
  readonly values?: Readonly<Record<string, string>> | undefined
}

/** The value of an option in help, by option name, unless a page says otherwise. */
const VALUES: Readonly<Record<string, string>> = {
  "--key-file": "FILE",
  "--key": "KEY",
  "--pubkey": "FILE",
  "--private-key": "FILE",
  "--since": "NOTE_OR_PACK",
  "--expected-head": "HASH",
  "--expect-entries": "N",
  "--threads": "N",
  "--max-line-bytes": "N",
  "--db": "URL",
  "--chain": "NAME",
  "--out": "FILE",
  "--framework": "eu_ai_act|iso_42001|gdpr|nist_rmf",
  "--mode": "OCTAL",
  "--name": "NAME",
  "--seq": "N[,N|A-B...]",
  "--origin": "ORIGIN",
  "--policy": "default|gdpr|pci|strict|flag-only",
  "--detectors": "[+|-]NAME[,...]",
  "--decision": "ID",
  "--max-embed-bytes": "N"
}

/**
 * One option as help shows it, and as `main` checks it.
 *
 * @since 0.1.0
 * @category help
 */
export interface OptionDoc {
  /** its names, the long one first (`--help`, `-h`) */
  readonly names: ReadonlyArray<string>
  /** whether it takes a value (`--out FILE`) or is a flag (`--json`) */
  readonly valued: boolean
  /** whether it may be given more than once */
  readonly repeated: boolean
  /** what it does (the description given to the option in the command) */
  readonly text: string
}

/**
 * What the parser knows of a command: its options and positional arguments, with the descriptions
 * the command gives them.
 *
 * @since 0.1.0
 * @category help
 */
export interface Described {
  readonly description: string
  readonly options: ReadonlyArray<OptionDoc>
  readonly args: ReadonlyArray<{ readonly name: string; readonly text: string }>
}

const spanText = (s: Span.Span): string => {
  switch (s._tag) {
    case "Text":
    case "URI":
      return s.value
    case "Sequence":
      return spanText(s.left) + spanText(s.right)
    case "Highlight":
    case "Strong":
    case "Weak":
      return spanText(s.value)
  }
}

/** The paragraphs of a block, in order. */
const paragraphs = (d: HelpDoc.HelpDoc): Array<string> => {
  switch (d._tag) {
    case "Paragraph":
      return [spanText(d.value)]
    case "Sequence":
      return [...paragraphs(d.left), ...paragraphs(d.right)]
    case "Enumeration":
      return d.elements.flatMap(paragraphs)
    default:
      return []
  }
}

/**
 * What @effect/cli adds below every description: the value's type first ("A user-defined piece of
 * text."), then whether it is optional or repeated. A description says what matters in its own words.
 */
const GENERATED = /^This (?:setting|option|argument) (?:is optional|may be repeated|must be repeated)/

/** The definitions of every description list under each header (`ARGUMENTS`, `OPTIONS`). */
const sections = (d: HelpDoc.HelpDoc, into: Map<string, Array<readonly [Span.Span, HelpDoc.HelpDoc]>>, header: { current: string }): void => {
  switch (d._tag) {
    case "Header":
      header.current = spanText(d.value)
      return
    case "Paragraph":
      if (header.current === "DESCRIPTION") into.set("DESCRIPTION", [...(into.get("DESCRIPTION") ?? []), [d.value, d]])
      return
    case "DescriptionList": {
      const list = into.get(header.current) ?? []
      list.push(...d.definitions)
      into.set(header.current, list)
      return
    }
    case "Sequence":
      sections(d.left, into, header)
      sections(d.right, into, header)
      return
    default:
      return
  }
}

/** The names `Usage` gives options (valued when it states accepted values), and which repeat. */
const usageShape = (u: Usage.Usage, repeated: boolean, into: Map<string, { valued: boolean; repeated: boolean }>): void => {
  switch (u._tag) {
    case "Named":
      // positional arguments are named <NAME>
      if (u.names.every((n) => n.startsWith("-"))) for (const n of u.names) into.set(n, { valued: Option.isSome(u.acceptedValues), repeated })
      return
    case "Optional":
      return usageShape(u.usage, repeated, into)
    case "Repeated":
      return usageShape(u.usage, true, into)
    case "Alternation":
    case "Concat":
      usageShape(u.left, repeated, into)
      usageShape(u.right, repeated, into)
      return
    default:
      return
  }
}

const config = CliConfig.make({})

/** @effect/cli's built-in options, which it lists under each command. */
const PARSER_OWN = new Set(["--help", "-h", "--version", "--wizard", "--completions", "--log-level"])

/**
 * A usage line broken at the width, between its words and bracketed groups (`[--key-file FILE |
 * --key KEY]` stays whole), the lines after the first indented under the first word's end.
 */
/** An example's command line: `acttrace` before it, unless it runs another command first and pipes into ours. */
const commandLine = (cmd: string): string => (/\|\s*acttrace /.test(cmd) ? cmd : `acttrace ${cmd}`)

const synopsisLines = (line: string, indent: number, layout: Layout): string => {
  const tokens: Array<string> = []
  let depth = 0
  let token = ""
  for (const c of line) {
    if (c === " " && depth === 0) {
      if (token !== "") tokens.push(token)
      token = ""
      continue
    }
    if (c === "[" || c === "(") depth++
    if ((c === "]" || c === ")") && depth > 0) depth--
    token += c
  }
  if (token !== "") tokens.push(token)
  const first = tokens.slice(0, 2).join(" ")
  const hang = " ".repeat(indent + first.length + 1)
  const width = Math.max(60, Math.min(layout.width, 100))
  const lines: Array<string> = [" ".repeat(indent) + first]
  for (const t of tokens.slice(2)) {
    const last = lines[lines.length - 1]!
    if (last.length + 1 + t.length > width && last.trim() !== first) lines.push(hang + t)
    else lines[lines.length - 1] = `${last} ${t}`
  }
  return lines.join("\n")
}

/** `text` after `prefix` (`  0  `), its later lines indented to where the text began. */
const hanging = (prefix: string, text: string, layout: Layout): string => prefix + wrap(text, prefix.length, layout).trimStart()

/**
 * The options and arguments of a command (a subcommand's descriptor, `Command.getSubcommands`),
 * read from the command itself.
 *
 * @since 0.1.0
 * @category help
 */
export const describe = <A>(command: Descriptor.Command<A>): Described => {
  const shape = new Map<string, { valued: boolean; repeated: boolean }>()
  usageShape(Descriptor.getUsage(command), false, shape)
  const found = new Map<string, Array<readonly [Span.Span, HelpDoc.HelpDoc]>>()
  sections(Descriptor.getHelp(command, config), found, { current: "" })
  const described = (block: HelpDoc.HelpDoc): string =>
    // the first paragraph is the value's type, in @effect/cli's words
    paragraphs(block).slice(1).filter((p) => !GENERATED.test(p)).join(" ")
  const options = (found.get("OPTIONS") ?? []).flatMap(([span, block]): Array<OptionDoc> => {
    const names = [...spanText(span).matchAll(/(?:^|[\s(,])(--?[A-Za-z][\w-]*)/g)].map((m) => m[1]!).sort((a, b) => b.length - a.length)
    // the parser's own options, listed under every command: answered by `main` or refused there
    if (names.some((n) => PARSER_OWN.has(n))) return []
    const s = shape.get(names[0]!) ?? { valued: false, repeated: false }
    return [{ names, valued: s.valued, repeated: s.repeated, text: described(block) }]
  })
  const args = (found.get("ARGUMENTS") ?? []).map(([span, block]) => ({ name: spanText(span).replace(/[<>]/g, "").replace(/\.\.\.$/, "").trim(), text: described(block) }))
  const description = (found.get("DESCRIPTION") ?? []).map(([s]) => spanText(s)).join(" ")
  return { description, options, args }
}

/**
 * How help is laid out: `colour` for bold headers and option names (a terminal without
 * `NO_COLOR`), `width` to wrap at (the terminal's, else 80).
 *
 * @since 0.1.0
 * @category help
 */
export interface Layout {
  readonly colour: boolean
  readonly width: number
}

/**
 * The value an option takes, as help and error messages name it (`--detectors [+|-]NAME[,...]`).
 *
 * @since 0.1.0
 * @category help
 */
export const valueName = (page: Page | undefined, option: OptionDoc): string =>
  page?.values?.[option.names[0]!] ?? VALUES[option.names[0]!] ?? "VALUE"

const bold = (text: string, layout: Layout): string => (layout.colour ? `\u001b[1m${text}\u001b[22m` : text)

/** `text` wrapped at `layout.width`, every line indented by `indent` spaces. */
const wrap = (text: string, indent: number, layout: Layout): string => {
  const width = Math.max(40, Math.min(layout.width, 100)) - indent
  const lines: Array<string> = []
  let line = ""
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line === "" ? word : `${line} ${word}`
  }
  if (line !== "") lines.push(line)
  return lines.map((l) => " ".repeat(indent) + l).join("\n")
}

/** The exit codes every command shares, said in the root page. */
const EXIT_CODES = "0 success (a verdict of intact, nothing blocked); 1 the job's finding or failure (a verification failed, a finding blocks, a file could not be written); 2 a usage error or an input that cannot be read. Errors are one line on stderr, error: …; results go to stdout."

/**
 * `acttrace COMMAND --help`.
 *
 * @since 0.1.0
 * @category help
 */
export const renderCommand = (page: Page, d: Described, layout: Layout): string => {
  const out: Array<string> = []
  const head = (title: string) => out.push("", bold(title, layout))
  out.push(`acttrace ${page.name}: ${page.summary}`)
  head("Usage:")
  for (const s of page.synopsis) out.push(synopsisLines(`acttrace ${s}`, 2, layout))
  if (d.description !== "") {
    head("Description:")
    out.push(wrap(d.description, 2, layout))
  }
  if (d.args.length > 0) {
    head("Arguments:")
    for (const a of d.args) out.push(`  ${bold(a.name, layout)}`, wrap(a.text, 6, layout))
  }
  head("Options:")
  for (const o of [...d.options, HELP_OPTION]) {
    const value = o.valued ? ` ${valueName(page, o)}` : ""
    const names = [...o.names].reverse().join(", ")
    out.push(`  ${bold(names, layout)}${value}${o.repeated ? " (repeatable)" : ""}`)
    out.push(wrap(o.text, 6, layout))
  }
  head("Examples:")
  for (const [cmd, what] of page.examples) out.push(`  $ ${commandLine(cmd)}`, ...(what === "" ? [] : [wrap(what, 6, layout)]))
  head("Output:")
  out.push(wrap(page.output, 2, layout))
  head("Exit codes:")
  for (const [code, meaning] of page.exit) out.push(hanging(`  ${code}  `, meaning, layout))
  return out.join("\n")
}

/** `-h, --help`, which every command takes (`main` answers it before the parser runs). */
const HELP_OPTION: OptionDoc = { names: ["--help", "-h"], valued: false, repeated: false, text: "show this help and exit" }

/**
 * `acttrace --help`: the commands, the synopsis of each, the keys, the exit codes.
 *
 * @since 0.1.0
 * @category help
 */
export const renderRoot = (pages: ReadonlyArray<Page>, version: string, layout: Layout): string => {
  const out: Array<string> = []
  const head = (title: string) => out.push("", bold(title, layout))
  out.push(`acttrace ${version}: a tamper-evident, hash-chained record of AI decisions, verifiable offline`)
  head("Usage:")
  out.push("  acttrace COMMAND [ARGUMENTS] [OPTIONS]", "  acttrace COMMAND --help", "  acttrace --version")
  head("Commands:")
  const width = Math.max(...pages.map((p) => p.name.length))
  for (const p of pages) {
    const first = `  ${bold(p.name.padEnd(width), layout)}  `
    const text = wrap(p.summary, width + 4, layout).trimStart()
    out.push(first + text)
  }
  head("Synopsis:")
  for (const p of pages) for (const s of p.synopsis) out.push(synopsisLines(`acttrace ${s}`, 2, layout))
  head("Examples:")
  for (const p of pages.slice(0, 4)) {
    const e = p.examples[0]
    if (e !== undefined) out.push(`  $ ${commandLine(e[0])}`, wrap(e[1], 6, layout))
  }
  head("Keys:")
  out.push(wrap("Give the HMAC key with --key-file FILE (one trailing newline is ignored) or the ACTTRACE_KEY environment variable. --key KEY works too, but a command line is visible to every user of the machine through ps for as long as the command runs. Ed25519 checkpoint keys are files made by acttrace keygen: --private-key NAME.key to sign, --pubkey NAME.pub to verify.", 2, layout))
  head("Environment:")
  out.push(wrap("ACTTRACE_KEY the HMAC key; PGPASSWORD the password of a --db postgres:// URL; NO_COLOR (set, not empty) no colour on a terminal.", 2, layout))
  head("Exit codes:")
  out.push(wrap(EXIT_CODES, 2, layout))
  out.push("", "Run 'acttrace COMMAND --help' for a command's options, examples and output.")
  return out.join("\n")
}

/** Exit 2, as every command says it. */
const USAGE_EXIT = "a usage error (an unknown option, an option without its value, a file that cannot be read as what it should be) or an input that cannot be read"

/**
 * The help pages of the commands in src/internal/cli.ts, in the order `acttrace --help` lists them.
 *
 * @since 0.1.0
 * @category help
 */
export const PAGES: ReadonlyArray<Page> = [
  {
    name: "verify",
    summary: "check a log or evidence pack (or a chain in a database): intact, complete, signed",
    synopsis: [
      "verify PACK|- [--key-file FILE | --key KEY] [--pubkey FILE]... [--since NOTE_OR_PACK] [--every-signature] [--expected-head HASH] [--expect-entries N] [--require-complete] [--require-signatures] [--threads N] [--max-line-bytes N] [--json] [--quiet]",
      "verify --db URL --chain NAME [the options above but --threads]"
    ],
    values: { "--out": "FILE" },
    examples: [
      ["verify pack.jsonl --key-file audit.key", "check every entry, its signature and the pack's sealed header"],
      ["verify pack.jsonl --pubkey acttrace.pub --require-complete", "check the signed checkpoints with the public key alone, and fail unless nothing can be missing at the end"],
      ["verify pack.jsonl --pubkey acttrace.pub --since monday.note", "prove the pack extends a checkpoint published on Monday"],
      ["verify - --json < pack.jsonl", "read standard input, print one JSON object"],
      ["verify --db postgres://auditor@db.internal/audit --chain orders --key-file audit.key", "verify a chain in PostgreSQL (the password in PGPASSWORD)"]
    ],
    output:
      "One line on stdout: ok: N entries, head H… (signatures S; completeness: C), or the failure: EditDetected at line L (seq Q): why. Warnings (signatures or checkpoints present but not checked) go to stderr. With --json, one object: {ok, entries, head, signatures, completeness, checkpoints, checkpoint_count, unsealed_tail} on success, {ok: false, entries, head, signatures, completeness, error: {_tag, line, seq, message}} on failure. On a terminal, a progress line on stderr for inputs that take a while (not with --quiet, never on a pipe).",
    exit: [[0, "intact and complete (as far as completeness was claimed)"], [1, "verification failed (an edit, reorder, deletion, truncation, bad signature or header, malformed line, a checkpoint that does not hold, a rewritten history); with --require-signatures, signatures not checked"], [2, USAGE_EXIT]]
  },
  {
    name: "export",
    summary: "write an evidence pack of a log: verified, annotated with controls, sealed",
    synopsis: [
      "export LOG --out PACK [--framework eu_ai_act|iso_42001|gdpr|nist_rmf] [--key-file FILE | --key KEY] [--private-key FILE] [--mode OCTAL] [--quiet]",
      "export --db URL --chain NAME --out PACK [the options above]"
    ],
    values: { "--out": "PACK" },
    examples: [
      ["export audit.jsonl --out pack.jsonl --framework eu_ai_act --key-file audit.key", "a sealed pack whose rows carry the EU AI Act controls they support"],
      ["export audit.jsonl --out pack.jsonl --key-file audit.key --private-key acttrace.key", "a log with signed checkpoints: the pack carries a signed checkpoint that verifies with the .pub alone"],
      ["export audit.jsonl --out pack.jsonl --mode 640", "a pack a group may read"]
    ],
    output: "One line on stdout: exported N entries to PACK, head H… (signed and sealed; framework: F, K controls). The pack is written to a temporary file and renamed into place, never over the log. On a terminal, a progress line on stderr for logs that take a while (not with --quiet).",
    exit: [[0, "the pack was written"], [1, "the log does not verify, or the pack could not be written"], [2, USAGE_EXIT]]
  },
  {
    name: "keygen",
    summary: "make an Ed25519 key pair for signed checkpoints (C2SP signed-note key files)",
    synopsis: ["keygen --out DIR [--name NAME]"],
    values: { "--out": "DIR" },
    examples: [["keygen --out keys --name loan-triage", "write keys/loan-triage.key (private, 0600) and keys/loan-triage.pub (hand it to verifiers)"]],
    output: "Three lines on stdout: the two paths written and the public verifier key. The private key is never printed.",
    exit: [[0, "the key pair was written"], [2, `${USAGE_EXIT}; a key file that already exists (never overwritten)`]]
  },
  {
    name: "checkpoint",
    summary: "print a pack's or log's latest signed checkpoint, to publish out of band",
    synopsis: ["checkpoint PACK_OR_LOG [--pubkey FILE]..."],
    examples: [
      ["checkpoint pack.jsonl --pubkey acttrace.pub > monday.note", "verify the pack, then save its signed checkpoint to publish (a ticket, an e-mail, a write-once bucket)"],
      ["verify later.jsonl --pubkey acttrace.pub --since monday.note", "later: prove a newer pack extends what was published"]
    ],
    output: "The signed note, exactly, on stdout (nothing else). With --pubkey nothing is printed unless the whole file verifies.",
    exit: [[0, "the note was printed"], [1, "the file holds no checkpoint, or does not verify"], [2, USAGE_EXIT]]
  },
  {
    name: "prove",
    summary: "write a proof of chosen entries: the entries, inclusion proofs, the signed checkpoint",
    synopsis: ["prove PACK --seq N[,N|A-B...] --out PROOF [--pubkey FILE]..."],
    values: { "--out": "PROOF" },
    examples: [["prove pack.jsonl --seq 12,40,50-52 --out decision.proof --pubkey acttrace.pub", "a proof of five entries that anyone with the .pub checks without the pack"]],
    output: "One line on stdout: wrote PROOF: entries … with their inclusion proofs in the tree of N entries. The proof file is JSON (acttrace-proof/1).",
    exit: [[0, "the proof was written"], [1, "no checkpoint covers the entries, or it is not signed by a --pubkey key"], [2, USAGE_EXIT]]
  },
  {
    name: "verify-proof",
    summary: "check a proof file alone, without the pack",
    synopsis: ["verify-proof PROOF|- --pubkey FILE [--pubkey FILE]... [--origin ORIGIN] [--json]"],
    examples: [
      ["verify-proof decision.proof --pubkey acttrace.pub", "check each entry's hash and inclusion proof against the signed checkpoint"],
      ["verify-proof decision.proof --pubkey acttrace.pub --origin acttrace/loan-triage --json", "and require the entries to belong to that log; one JSON object"]
    ],
    output: "A line per entry proven (proven: seq N type ts, hash H…) and ok: …; or the failure, TAG: why. With --json, one object: {ok: true, size, origin, signers, proven} or {ok: false, error: {_tag, message}}.",
    exit: [[0, "every entry is proven"], [1, "the proof does not hold"], [2, USAGE_EXIT]]
  },
  {
    name: "consistency",
    summary: "prove that a newer pack extends an older one of the same log",
    synopsis: ["consistency OLD NEW --pubkey FILE [--pubkey FILE]... [--out FILE] [--json]"],
    examples: [["consistency monday.jsonl friday.jsonl --pubkey acttrace.pub --out week.consistency", "prove Friday's pack extends Monday's and save the consistency proof"]],
    output: "One line on stdout: ok: NEW (N entries) extends OLD (M entries): consistency proof of K hashes; or NotConsistent: … naming the first entry where they differ. With --json, one object: {ok: true, old_size, new_size, proof_length} or {ok: false, error: {_tag, first_differing, message}}.",
    exit: [[0, "NEW extends OLD"], [1, "it does not (the first differing entry is named), or a checkpoint does not hold"], [2, USAGE_EXIT]]
  },
  {
    name: "repair",
    summary: "move a torn last line (a crash mid-write) aside into a quarantine file",
    synopsis: ["repair LOG"],
    examples: [["repair audit.jsonl", "cut the log back to its last whole entry; the torn bytes are kept beside it"]],
    output: "One line on stdout: repaired LOG: moved the torn last N bytes to QUARANTINE, or nothing to repair. A lock taken over is said on stderr.",
    exit: [[0, "repaired, or nothing to repair"], [1, "the log could not be repaired (held by a writer, not a log)"], [2, USAGE_EXIT]]
  },
  {
    name: "scan",
    summary: "look for secrets and personal data in text, JSON or JSON Lines, never printing them",
    synopsis: ["scan [FILE|-] [--policy default|gdpr|pci|strict|flag-only] [--detectors [+|-]NAME[,...]] [--json]"],
    examples: [
      ["scan prompts.jsonl --policy strict", "a line per finding (category, group, severity, action, count) and the verdict"],
      ["scan notes.txt --detectors +uk_nino,+aadhaar,-ipv4", "turn the opt-in UK and Indian identity numbers on, IPv4 addresses off"],
      ["git diff --cached | acttrace scan --policy strict --json", "a pre-commit gate: exit 1 when a finding blocks"]
    ],
    output: "A line per finding (category (group, severity) action ×count, after line N: for JSON Lines, the line it is on; text and JSON are read as one value) and a last line: N findings in …; policy P: allow|redact|block. Values are never printed. With --json, one object: {input: text|json|jsonl, policy, verdict, findings: [{category, group, severity, action, count, line?, placeholder?}]}. The input is UTF-8 or UTF-16 with a byte-order mark; anything else is refused (exit 2), never passed.",
    exit: [[0, "nothing found blocks"], [1, "a finding resolves to block"], [2, `${USAGE_EXIT} (not UTF-8 or UTF-16 text, an unknown policy or detector)`]]
  },
  {
    name: "demo",
    summary: "write a small signed log, verify it, tamper with copies and show each detection",
    synopsis: ["demo [--out DIR] [--db URL --chain NAME] [--key-file FILE | --key KEY] [--private-key FILE]"],
    values: { "--out": "DIR" },
    examples: [
      ["demo --out /tmp/acttrace-demo", "a signed pack and tampered copies, each verified"],
      ["demo --private-key keys/acttrace.key", "also publish a checkpoint, prove a decision and catch a rewritten history"]
    ],
    output: "What each step ran and what it printed, on stdout.",
    exit: [[0, "every step did what it shows"], [1, "a step failed (a log held by another writer, a full disk, a database that cannot be reached)"], [2, USAGE_EXIT]]
  }
]
