"""RPNI (regular positive and negative inference) over word tokens, and the DFA → regex step.

Why our own and not AALpy: the sample sizes are small (feedback, not corpora), the learner must work
over *tokens* (words and a digit class) rather than characters, and the result must become a
:class:`~ddl.regular.Lang` through our own regex AST; the whole algorithm is ~100 lines and adds no
dependency.

Tokens: a normalized utterance is split on spaces and lower-cased; inside a word every run of
digits becomes the class ``[0-9]+`` (written ``\\x00`` internally), so a learner that saw
"suggest 3 books" accepts "suggest 7 books" too.

Algorithm (Oncina & García 1992, red-blue formulation): build the prefix-tree acceptor of A
(accepting leaves) and R (rejecting leaves), states numbered in shortlex order of their access
strings.  Repeatedly take the smallest blue state (a child of a red state that is not red) and try
to merge it into each red state in order; a merge redirects the blue state's incoming edge and folds
its subtree into the red state, failing when an accepting and a rejecting state would coincide.  If
no merge is consistent the blue state becomes red.  The result accepts every item of A and rejects
every item of R; unlabeled states reject.  When an accepted and a rejected utterance have the same
token sequence no DFA over tokens can separate them, and the learner says so.

The DFA becomes a regex by state elimination (a fresh start state whose edges carry tokens without a
leading space; every other edge carries " " + token), over word literals and ``[0-9]+``.
"""

from __future__ import annotations

import attrs

from ddl.regular import EMPTY, EPSILON, CharSet, Regex, alt, chars, lit, rep, seq, star
from ddl.regular.ast import Alt, Chars, Concat, Empty, Epsilon, Repeat, Star

NUM = "\x00"


def tokens(utterance: str) -> tuple[str, ...]:
    """Lower-cased words; each digit run inside a word is the class token NUM."""
    out = []
    for word in utterance.casefold().split():
        buf: list[str] = []
        i = 0
        while i < len(word):
            if "0" <= word[i] <= "9":
                while i < len(word) and "0" <= word[i] <= "9":
                    i += 1
                buf.append(NUM)
            else:
                buf.append(word[i])
                i += 1
        out.append("".join(buf))
    return tuple(out)


def token_regex(token: str) -> Regex:
    digits = rep(chars(CharSet.from_ranges([("0", "9")])), 1, None)
    parts = token.split(NUM)
    items: list[Regex] = []
    for i, part in enumerate(parts):
        if i:
            items.append(digits)
        items.append(lit(part))
    return seq(*items)


@attrs.frozen
class TokenDFA:
    """A (partial) DFA over tokens: ``delta[s][token] = t``; state 0 is the start."""

    delta: list[dict[str, int]]
    accept: list[bool]

    def accepts(self, toks: tuple[str, ...]) -> bool:
        s = 0
        for t in toks:
            nxt = self.delta[s].get(t)
            if nxt is None:
                return False
            s = nxt
        return self.accept[s]

    @property
    def size(self) -> int:
        return len(self.delta)


@attrs.frozen
class RpniResult:
    dfa: TokenDFA | None
    message: str
    conflict: tuple[str, str] | None = None  # (accepted, rejected) with the same tokens


def rpni(accepted: list[str], rejected: list[str]) -> RpniResult:
    """Learn a token DFA accepting every utterance of ``accepted`` and none of ``rejected``."""
    samples: dict[tuple[str, ...], tuple[bool, str]] = {}
    for verdict, items in ((True, accepted), (False, rejected)):
        for u in items:
            toks = tokens(u)
            prev = samples.get(toks)
            if prev is not None and prev[0] != verdict:
                a, r = (prev[1], u) if prev[0] else (u, prev[1])
                return RpniResult(None, f"the accepted {a!r} and the rejected {r!r} have the same words "
                                        "(digits are one class): no split over wording separates them", (a, r))
            samples[toks] = (verdict, u)
    # Prefix tree, states in shortlex order of their access strings.
    prefixes: set[tuple[str, ...]] = {()}
    for toks in samples:
        for i in range(1, len(toks) + 1):
            prefixes.add(toks[:i])
    order = sorted(prefixes, key=lambda p: (len(p), p))
    index = {p: i for i, p in enumerate(order)}
    delta: list[dict[str, int]] = [{} for _ in order]
    label: list[bool | None] = [None] * len(order)
    for p, i in index.items():
        if p:
            delta[index[p[:-1]]][p[-1]] = i
        if p in samples:
            label[i] = samples[p][0]

    red: list[int] = [0]
    red_set = {0}
    while True:
        blues = sorted({t for r in red for t in delta[r].values() if t not in red_set})
        if not blues:
            break
        q = blues[0]
        parent, sym = next((r, a) for r in red for a, t in sorted(delta[r].items()) if t == q)
        for target in red:
            trial = _merge(delta, label, parent, sym, target, q)
            if trial is not None:
                delta, label = trial
                break
        else:
            red.append(q)
            red_set.add(q)
    # Keep the red states (the only reachable ones), renumbered.
    renum = {s: i for i, s in enumerate(red)}
    out_delta = [{a: renum[t] for a, t in sorted(delta[s].items())} for s in red]
    out_accept = [label[s] is True for s in red]
    dfa = TokenDFA(out_delta, out_accept)
    return RpniResult(dfa, f"RPNI: {len(samples)} token sequences → {dfa.size} states")


def _merge(delta: list[dict[str, int]], label: list[bool | None], parent: int, sym: str, p: int,
           q: int) -> tuple[list[dict[str, int]], list[bool | None]] | None:
    """Redirect parent --sym--> q to p and fold q's subtree into p; None when labels clash."""
    new_delta: dict[int, dict[str, int]] = {}  # copy-on-write overlay
    new_label: dict[int, bool | None] = {}

    def d(s: int) -> dict[str, int]:
        if s not in new_delta:
            new_delta[s] = dict(delta[s])
        return new_delta[s]

    def lab(s: int) -> bool | None:
        return new_label[s] if s in new_label else label[s]

    d(parent)[sym] = p
    stack = [(p, q)]
    while stack:
        a, b = stack.pop()
        la, lb = lab(a), lab(b)
        if lb is not None:
            if la is not None and la != lb:
                return None
            new_label[a] = lb
        for t, nb in list((new_delta.get(b) or delta[b]).items()):
            na = (new_delta.get(a) or delta[a]).get(t)
            if na is None:
                d(a)[t] = nb
            else:
                stack.append((na, nb))
    full_delta = [new_delta.get(i, row) for i, row in enumerate(delta)]
    full_label = [new_label.get(i, lb) if i in new_label else lb for i, lb in enumerate(label)]
    return full_delta, full_label


# ---------------------------------------------------------------- DFA → regex


def dfa_to_regex(dfa: TokenDFA) -> Regex:
    """State elimination: a regex over word literals, ``[0-9]+`` and single spaces."""
    n = dfa.size
    start, final = n, n + 1
    edges: dict[tuple[int, int], Regex] = {}

    def add(i: int, j: int, rx: Regex) -> None:
        edges[(i, j)] = alt(edges[(i, j)], rx) if (i, j) in edges else rx

    # Only states that can reach acceptance matter.
    live = {s for s in range(n) if dfa.accept[s]}
    changed = True
    while changed:
        changed = False
        for s in range(n):
            if s not in live and any(t in live for t in dfa.delta[s].values()):
                live.add(s)
                changed = True
    if 0 not in live:
        return EMPTY
    for a, t in sorted(dfa.delta[0].items()):
        if t in live:
            add(start, t, token_regex(a))
    if dfa.accept[0]:
        add(start, final, EPSILON)
    for s in sorted(live):
        for a, t in sorted(dfa.delta[s].items()):
            if t in live:
                add(s, t, seq(lit(" "), token_regex(a)))
        if dfa.accept[s]:
            add(s, final, EPSILON)
    for k in sorted(live):
        loop = edges.pop((k, k), None)
        loop_rx = star(loop) if loop is not None else EPSILON
        ins = [(i, rx) for (i, j), rx in edges.items() if j == k]
        outs = [(j, rx) for (i, j), rx in edges.items() if i == k]
        for key in [e for e in edges if k in e]:
            del edges[key]
        for i, rin in ins:
            for j, rout in outs:
                add(i, j, seq(rin, loop_rx, rout))
    return edges.get((start, final), EMPTY)


# ---------------------------------------------------------------- printing in DDL grammar syntax


def ddl_source(node: Regex) -> str:
    """The regex in DDL grammar-body syntax (literals quoted, classes in brackets)."""
    return _src(node, 0)


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    escaped = escaped.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    return '"' + escaped + '"'


def _chars_src(cs: CharSet) -> str:
    if _single(cs) is not None:
        return _quote(chr(cs.min()))
    parts = []
    for lo, hi in cs.ranges():
        a, b = _class_char(lo), _class_char(hi)
        parts.append(a if lo == hi else f"{a}-{b}")
    return "[" + "".join(parts) + "]"


def _class_char(cp: int) -> str:
    c = chr(cp)
    if c in "\\]^-[" or not c.isprintable():
        return f"\\u{{{cp:x}}}" if not c.isprintable() else "\\" + c
    return c


def _single(cs: CharSet) -> str | None:
    return chr(cs.min()) if cs.size() == 1 else None


def _src(node: Regex, prec: int) -> str:
    # prec: 0 alternation, 1 sequence, 2 postfix operand
    if isinstance(node, Empty):
        raise ValueError("the empty language has no DDL grammar")
    if isinstance(node, Epsilon):
        return '""'
    if isinstance(node, Chars):
        return _chars_src(node.cs)
    if isinstance(node, Concat):
        parts: list[str] = []
        buf = ""
        for item in node.items:
            ch = _single(item.cs) if isinstance(item, Chars) else None
            if ch is not None:
                buf += ch
                continue
            if buf:
                parts.append(_quote(buf))
                buf = ""
            parts.append(_src(item, 2))
        if buf:
            parts.append(_quote(buf))
        text = " ".join(parts)
        return f"({text})" if prec > 1 and len(parts) > 1 else text
    if isinstance(node, Alt):
        opt = [i for i in node.items if not isinstance(i, Epsilon)]
        if len(opt) < len(node.items):
            return _src(alt(*opt), 2) + "?"
        text = " | ".join(_src(i, 1) for i in node.items)
        return f"({text})" if prec > 0 else text
    if isinstance(node, Star):
        return _src(node.inner, 2) + "*"
    if isinstance(node, Repeat):
        body = _src(node.inner, 2)
        if (node.lo, node.hi) == (1, None):
            return body + "+"
        if (node.lo, node.hi) == (0, 1):
            return body + "?"
        hi = "" if node.hi is None else str(node.hi)
        return f"{body}{{{node.lo},{hi}}}"
    raise ValueError(f"cannot print {type(node).__name__} as DDL")


def learn_rpni(accepted: list[str], rejected: list[str]) -> tuple[Regex | None, RpniResult]:
    result = rpni(accepted, rejected)
    if result.dfa is None:
        return None, result
    return dfa_to_regex(result.dfa), result


__all__ = ["NUM", "RpniResult", "TokenDFA", "ddl_source", "dfa_to_regex", "learn_rpni", "rpni", "token_regex",
           "tokens"]
