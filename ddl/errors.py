"""The one catalogue of DDL diagnostic codes.

spec/errors.md documents every code listed here (a test keeps the two in step).
Ranges: 1xx syntax, 2xx names and types, 3xx evaluation, 4xx examples and
checks, 5xx grammars, 6xx verifier obligations, 7xx the handler (registry, model,
store, service), 9xx input/output and internal errors.
"""

from __future__ import annotations

# The project has no published home yet; one place to change when it does (SARIF, the language server).
PROJECT_URL = "https://github.com/ddl-lang/ddl"
CATALOGUE_URL = f"{PROJECT_URL}/blob/main/spec/errors.md"


def help_url(code: str) -> str:
    """The code's row in the error catalogue (spec/errors.md carries an ``<a id="ddl504">`` per row)."""
    return f"{CATALOGUE_URL}#{code.lower()}"


CATALOGUE: dict[str, str] = {
    # ---- syntax (front end)
    "DDL100": "source file too large",
    "DDL101": "source is not valid UTF-8",
    "DDL102": "unexpected character",
    "DDL103": "unexpected token",
    "DDL104": "unexpected end of input",
    "DDL105": "nesting too deep",
    "DDL106": "invalid escape sequence in a text literal",
    "DDL107": "malformed text interpolation",
    "DDL108": "invalid character class",
    "DDL109": "invalid repetition bounds",
    "DDL110": "reserved word used as a name",
    "DDL111": "invalid number literal",
    "DDL112": "duplicate item",
    "DDL113": "too many tokens",
    "DDL114": "invalid Int range bounds",
    # ---- names, declarations and types
    "DDL200": "unknown name",
    "DDL201": "duplicate declaration",
    "DDL202": "type mismatch",
    "DDL203": "wrong number of arguments",
    "DDL204": "not callable",
    "DDL205": "unknown field",
    "DDL206": "missing field",
    "DDL207": "non-exhaustive match",
    "DDL208": "unreachable match arm",
    "DDL209": "recursion is not allowed",
    "DDL210": "unbounded iteration",
    "DDL211": "cannot infer type",
    "DDL212": "range is empty or provably violated",
    "DDL213": "operator not defined for these types",
    "DDL214": "invalid table",
    "DDL215": "invalid parameter declaration",
    "DDL216": "family is incomplete",
    "DDL217": "unknown import",
    "DDL218": "import cycle",
    "DDL219": "ambiguous name",
    "DDL220": "invalid grammar reference",
    "DDL221": "not a constant",
    "DDL222": "lambda outside a higher-order built-in",
    "DDL223": "invalid pattern",
    "DDL224": "invalid decimal scale",
    "DDL225": "invalid enum",
    "DDL226": "import outside the module's directory tree",
    "DDL227": "file import in a module a model wrote",
    "DDL228": "invalid `allow`",
    # ---- evaluation (runtime failures as error values)
    "DDL300": "division by zero",
    "DDL301": "index out of range",
    "DDL302": "value outside its declared range",
    "DDL303": "key not in table",
    "DDL304": "conversion failed",
    "DDL305": "step budget exhausted",
    "DDL306": "text longer than its declared maximum",
    "DDL307": "list longer than its declared maximum",
    "DDL308": "where-refinement violated",
    "DDL309": "text does not match its declared pattern",
    "DDL310": "invalid argument",
    "DDL311": "unwrap of none",
    "DDL317": "value over the size budget",
    "DDL318": "time budget exhausted",
    # ---- examples and checks
    "DDL400": "example output differs",
    "DDL401": "example parameters invalid",
    "DDL402": "example evaluation failed",
    "DDL403": "ensures clause violated",
    "DDL404": "unknown family",
    # ---- grammars
    "DDL500": "grammar accepts no utterance",
    "DDL501": "grammar does not cover a parameter's domain",
    "DDL502": "grammar can yield parameters outside their domain",
    "DDL503": "grammar is ambiguous",
    "DDL504": "example utterance not accepted by the grammar",
    "DDL505": "example utterance yields different parameters",
    "DDL506": "grammar automaton too large",
    "DDL507": "rendered utterance does not round-trip",
    "DDL508": "grammar obligation unknown",
    "DDL509": "utterance not accepted",
    "DDL510": "Text pattern too large",
    # ---- verifier obligations over all of Θ
    "DDL600": "partial operation can fail",
    "DDL601": "parameter does not affect the output",
    "DDL602": "teaching value leaks into the output",
    "DDL603": "branch is never taken",
    "DDL604": "branch taken only at the teaching value",
    "DDL605": "ensures clause can be violated",
    "DDL606": "verifier obligation unknown",
    "DDL607": "counterexample did not replay",
    "DDL608": "verifier obligation unknown at a limit",
    "DDL610": "verifier obligation unknown at the check budget",
    "DDL611": "a run exceeds its budget",
    "DDL612": "teaching value allowed in a constant (note)",
    # ---- I/O and internal
    # ---- the handler H_k
    "DDL700": "family not served",
    "DDL701": "families overlap",
    "DDL702": "store error",
    "DDL703": "model call failed",
    "DDL704": "model call timed out",
    "DDL705": "invalid request",
    "DDL706": "unknown query",
    "DDL707": "no model configured",
    "DDL708": "teaching value disagrees with the teaching utterance",
    "DDL709": "priority above the cap for a family a model wrote",
    "DDL710": "grammar accepts almost anything",
    "DDL711": "model-written family declares allow",
    # ddl serve's protections (spec/handler.md, "Running it safely")
    "DDL715": "missing or wrong token",
    "DDL716": "cross-site request refused",
    "DDL717": "request body too slow",
    "DDL718": "unsafe service configuration",
    # ---- input/output
    "DDL900": "cannot read file",
    "DDL901": "no .ddl files found",
    "DDL902": "invalid command-line value",
    "DDL903": "unknown configuration key",
    "DDL904": "invalid configuration value",
    "DDL999": "internal error",
}


def title(code: str) -> str:
    return CATALOGUE.get(code, "unknown diagnostic")
