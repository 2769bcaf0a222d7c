"""A small arithmetic language that builds `Value` graphs: ``tanh(x1*w1 + x2*w2 + b)``.

The grammar, lowest precedence first (the same precedence and associativity as Python)::

    expression := term (('+' | '-') term)*
    term       := unary (('*' | '/') unary)*
    unary      := ('-' | '+') unary | power
    power      := atom ('**' unary)?          # right-associative, binds tighter than unary minus
    atom       := NUMBER | NAME | FUNCTION '(' expression ')' | '(' expression ')'

so ``-x**2`` is ``-(x**2)``, ``2**-1`` is 0.5 and ``a**b**c`` is ``a**(b**c)``. Numbers are
decimal literals (``3``, ``0.5``, ``.5``, ``1e-3``); names are identifiers; the functions are
tanh, exp, log, relu and sigmoid. A tokenizer and a recursive-descent parser turn the text
into a tree of `Number`, `Variable`, `UnaryOp`, `BinaryOp` and `Call` nodes; nothing is
ever handed to Python's ``eval``.

``evaluate(text, {"x": 2.0})`` builds the graph with one `Value` per variable (labelled by
its name, shared by every use) and intermediate nodes labelled with their sub-expression,
as the tutorial labels ``x1*w1``. Mistakes raise `ExprError` subclasses (all ValueErrors):
`ExprSyntaxError` with a caret under the offending column, `UndefinedVariableError`
naming the missing names, `ExprMathError` for a math domain error in a sub-expression.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping, Sequence, Union

from scratchgrad.engine import Value, _check_number

__all__ = [
    "BinaryOp",
    "Call",
    "close_names",
    "ExprError",
    "ExprMathError",
    "ExprSyntaxError",
    "FUNCTIONS",
    "MAX_NESTING",
    "Node",
    "Number",
    "UnaryOp",
    "UndefinedVariableError",
    "Variable",
    "evaluate",
    "parse",
    "shorten",
    "unparse",
    "variable_names",
]

FUNCTIONS: dict[str, Callable[[Value], Value]] = {
    "exp": Value.exp,
    "log": Value.log,
    "relu": Value.relu,
    "sigmoid": Value.sigmoid,
    "tanh": Value.tanh,
}
"""The functions the language knows, by name: each takes one argument."""

MAX_NESTING = 100
"""Deepest nesting of parentheses, unary signs and powers the parser accepts (it recurses)."""

LABEL_WIDTH = 40
"""Longest sub-expression label put on an intermediate node; longer ones are shortened."""

# ---- errors ------------------------------------------------------------------------------


class ExprError(ValueError):
    """Anything wrong with an expression or its inputs: the base of the errors below."""


class ExprSyntaxError(ExprError):
    """The text is not a valid expression.

    ``str(error)`` is three lines: the message with the 1-based column, the expression,
    and a caret under that column. ``message``, ``text`` and ``column`` are attributes.
    """

    def __init__(self, message: str, text: str, column: int) -> None:
        self.message = message
        self.text = text
        self.column = column
        super().__init__(f"syntax error at column {column}: {message}\n{caret_lines(text, column)}")


class UndefinedVariableError(ExprError):
    """The expression uses variables that were not given; ``names`` lists them.

    The message names at most `MAX_NAMES_SHOWN` of each, shortened to `LABEL_WIDTH`
    characters, with a "did you mean" for names one typo away from a given one."""

    def __init__(self, names: Sequence[str], given: Sequence[str]) -> None:
        self.names = list(names)
        self.given = list(given)
        noun = "variable" if len(self.names) == 1 else "variables"
        message = f"undefined {noun} {_name_list(self.names)}"
        message += f" (given: {_name_list(self.given, quote=False)})" if self.given else " (no variables were given)"
        hints = [f"'{shorten(name)}' -> '{shorten(match)}'" for name, match in close_names(self.names, self.given)]
        if hints:
            message += f"; did you mean {', '.join(hints)}?"
        super().__init__(message)


MAX_NAMES_SHOWN = 10
"""Most names an error message lists; the rest are counted."""

_HINT_NAME_LENGTH = 32  # longer names are no typos of each other worth a hint


def _name_list(names: Sequence[str], quote: bool = True) -> str:
    shown = [f"'{shorten(n)}'" if quote else shorten(n) for n in names[:MAX_NAMES_SHOWN]]
    if len(names) > MAX_NAMES_SHOWN:
        shown.append(f"and {len(names) - MAX_NAMES_SHOWN} more")
    return ", ".join(shown)


def _deletions(word: str) -> set[str]:
    """``word`` and every string made by deleting one character of it."""
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


def close_names(unknown: Sequence[str], known: Sequence[str], limit: int = 5) -> list[tuple[str, str]]:
    """Pairs (unknown name, the known name it is probably a typo of), at most ``limit``.

    Two names are candidates when deleting at most one character from each (ignoring case)
    makes them equal, which covers one wrong, missing, extra or swapped character; the
    closest candidate (by difflib's ratio) wins. An index of the known names' deletions
    makes this linear in the number of names (2,000 against 2,000: milliseconds), where
    comparing every pair would be quadratic."""
    index: dict[str, list[str]] = {}
    for name in dict.fromkeys(known):
        if len(name) <= _HINT_NAME_LENGTH:
            for variant in _deletions(name.lower()):
                bucket = index.setdefault(variant, [])
                if len(bucket) < 8:  # a crowded variant ('x' of x1..x9) says little
                    bucket.append(name)
    pairs: list[tuple[str, str]] = []
    suggested: set[str] = set()
    for name in unknown:
        if len(pairs) >= limit:
            break
        if len(name) > _HINT_NAME_LENGTH:
            continue
        candidates = list(dict.fromkeys(
            c for v in _deletions(name.lower()) for c in index.get(v, ()) if c != name and c not in suggested
        ))  # fmt: skip
        scored = [(difflib.SequenceMatcher(None, name, c).ratio(), c) for c in candidates]
        if scored and max(scored)[0] >= 0.5:
            pairs.append((name, max(scored)[1]))
            suggested.add(max(scored)[1])  # one hint per known name: 'x0' -> 'x' says it all
    return pairs


class ExprMathError(ExprError):
    """A sub-expression has no real value (log of a negative number, division by zero, ...).

    The engine's own error is kept as ``__cause__``; ``subexpression`` and ``column`` say where.
    """

    def __init__(self, subexpression: str, column: int, reason: str) -> None:
        self.subexpression = subexpression
        self.column = column
        self.reason = reason
        super().__init__(f"cannot evaluate {shorten(subexpression, 80)} (column {column}): {reason}")


def caret_lines(text: str, column: int, width: int = 76) -> str:
    """Two lines: ``text`` (a window of ``width`` characters around ``column``) and a caret under it."""
    # one character each, so the caret stays aligned; nothing a terminal would act on
    line = re.sub(r"\s", " ", text)
    if not line.isprintable():
        line = "".join(ch if ch.isprintable() else "\N{REPLACEMENT CHARACTER}" for ch in line)
    start = 0
    if len(line) > width:
        start = min(max(0, column - 1 - width // 2), len(line) - width)
        shown = line[start : start + width]
        prefix = "..." if start > 0 else ""
        suffix = "..." if start + width < len(line) else ""
        line = prefix + shown + suffix
        start -= len(prefix)
    return f"  {line}\n  {' ' * (column - 1 - start)}^"


# ---- the tree ----------------------------------------------------------------------------
# ``column`` (1-based, where the node starts or where its operator is) is kept for error
# messages only: two trees are equal when they have the same shape and values. Equality,
# hashing and repr walk the tree without recursion, so a 20,000-term sum compares fine.


@dataclass(frozen=True, eq=False, repr=False)
class _Node:
    """What every tree node shares: ``column``, and comparison, hashing and repr that ignore it."""

    column: int = field(default=0, compare=False, kw_only=True)

    def _fields(self) -> tuple[object, ...]:
        """What identifies a node besides its children: its first field (value, name, op, function)."""
        return (getattr(self, self.__match_args__[0]),)  # type: ignore[attr-defined,misc]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Node):
            return NotImplemented
        pairs: list[tuple[_Node, _Node]] = [(self, other)]
        while pairs:
            a, b = pairs.pop()
            if type(a) is not type(b) or a._fields() != b._fields():
                return False
            pairs.extend(zip(_children(a), _children(b)))  # type: ignore[arg-type]
        return True

    def __hash__(self) -> int:
        hashes: list[int] = []
        for node in _postorder(self):  # type: ignore[arg-type]
            count = len(_children(node))
            parts = tuple(hashes[len(hashes) - count :]) if count else ()
            del hashes[len(hashes) - count :]
            hashes.append(hash((type(node).__name__, node._fields(), parts)))
        return hashes[0]

    def __repr__(self) -> str:
        texts: list[str] = []
        for node in _postorder(self):  # type: ignore[arg-type]
            count = len(_children(node))
            parts = texts[len(texts) - count :] if count else []
            del texts[len(texts) - count :]
            args = [repr(f) for f in node._fields()] + parts
            texts.append(f"{type(node).__name__}({', '.join(args)})")
        return texts[0]


@dataclass(frozen=True, eq=False, repr=False)
class Number(_Node):
    """A numeric literal; always finite and non-negative (``-3`` is a UnaryOp of 3)."""

    value: float


@dataclass(frozen=True, eq=False, repr=False)
class Variable(_Node):
    """A name whose value comes from the ``variables`` mapping of `evaluate`."""

    name: str


@dataclass(frozen=True, eq=False, repr=False)
class UnaryOp(_Node):
    """``-operand`` or ``+operand``."""

    op: str
    operand: Node


@dataclass(frozen=True, eq=False, repr=False)
class BinaryOp(_Node):
    """``left op right`` for op in ``+ - * / **``."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True, eq=False, repr=False)
class Call(_Node):
    """``function(argument)`` for a function in `FUNCTIONS`."""

    function: str
    argument: Node


Node = Union[Number, Variable, UnaryOp, BinaryOp, Call]
_NODE_TYPES = (Number, Variable, UnaryOp, BinaryOp, Call)


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, BinaryOp):
        return (node.left, node.right)
    if isinstance(node, UnaryOp):
        return (node.operand,)
    if isinstance(node, Call):
        return (node.argument,)
    return ()


def _postorder(tree: Node) -> Iterator[Node]:
    """Every node, children (left to right) before parents, without recursion."""
    stack: list[tuple[Node, bool]] = [(tree, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            yield node
            continue
        stack.append((node, True))
        for child in reversed(_children(node)):
            stack.append((child, False))


# ---- tokenizer ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # 'number', 'name', 'op' or 'end'
    text: str
    column: int  # 1-based
    value: float = 0.0


_NUMBER = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_WORD_TAIL = re.compile(r"[\w.]*")
_OPERATORS = {"+", "-", "*", "/", "(", ")", ","}
_ASCII_DIGITS = "0123456789"
_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_SUBSCRIPTS = "₀₁₂₃₄₅₆₇₈₉"


def _starts_name(ch: str) -> bool:
    return ch.isidentifier()


def _continues_name(ch: str) -> bool:
    return ("a" + ch).isidentifier()


def _unexpected(ch: str) -> str:
    """The message for a character the language does not use, with a hint when one helps."""
    shown = repr(ch) if ch.isprintable() else f"{ch!r}"
    shown += f" (U+{ord(ch):04X})" if not ch.isascii() or not ch.isprintable() else ""
    if ch == "^":
        return f"unexpected character {shown}: use ** for powers"
    if ch in _SUPERSCRIPTS:
        return f"unexpected character {shown}: write powers with **, e.g. x**{_SUPERSCRIPTS.index(ch)}"
    if ch in _SUBSCRIPTS:
        return f"unexpected character {shown}: names use plain digits, e.g. x{_SUBSCRIPTS.index(ch)}"
    if ch.isdigit() or ch.isnumeric():
        return f"unexpected character {shown}: numbers are written with the digits 0-9"
    return f"unexpected character {shown}"


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in _ASCII_DIGITS or (ch == "." and i + 1 < n and text[i + 1] in _ASCII_DIGITS):
            match = _NUMBER.match(text, i)
            if match is None:  # cannot happen after the test above; a clear error all the same
                raise ExprSyntaxError(f"invalid number starting with {ch!r}", text, i + 1)
            end = match.end()
            tail = _WORD_TAIL.match(text, end)
            if tail is not None and tail.end() > end:  # "2x", "1.2.3", "1e"
                word = shorten(text[i : tail.end()])
                rest = text[end : tail.end()]
                if rest[0] in "eE" and not rest[1:2].isalpha():
                    hint = ": an exponent needs digits, as in 1e-3"
                elif _starts_name(rest[0]):
                    hint = f": write {shorten(match.group())}*{shorten(rest)} for a product"
                else:
                    hint = ""
                raise ExprSyntaxError(f"invalid number '{word}'{hint}", text, i + 1)
            value = float(match.group())
            if math.isinf(value):
                raise ExprSyntaxError(f"number {shorten(match.group())} is too large for float64", text, i + 1)
            tokens.append(_Token("number", match.group(), i + 1, value))
            i = end
        elif _starts_name(ch):
            start = i
            i += 1
            while i < n and _continues_name(text[i]):
                i += 1
            tokens.append(_Token("name", text[start:i], start + 1))
        elif text.startswith("**", i):
            tokens.append(_Token("op", "**", i + 1))
            i += 2
        elif ch in _OPERATORS:
            tokens.append(_Token("op", ch, i + 1))
            i += 1
        else:
            raise ExprSyntaxError(_unexpected(ch), text, i + 1)
    tokens.append(_Token("end", "", n + 1))
    return tokens


# ---- parser ------------------------------------------------------------------------------


def _describe(token: _Token) -> str:
    return "the end of the expression" if token.kind == "end" else f"'{shorten(token.text)}'"


class _Parser:
    """Recursive descent over the token list, one method per grammar rule."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0
        self.depth = 0

    def error(self, message: str, token: _Token) -> ExprSyntaxError:
        return ExprSyntaxError(message, self.text, token.column)

    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def advance(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def at(self, *ops: str) -> bool:
        token = self.tokens[self.pos]
        return token.kind == "op" and token.text in ops

    def enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(f"expression nests more than {MAX_NESTING} levels deep", token)

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise self.error("empty expression", self.peek())
        tree = self.expression()
        token = self.peek()
        if token.kind != "end":
            if token.kind == "op" and token.text == ")":
                raise self.error("unmatched ')'", token)
            raise self.error(self.missing_operator(token), token)
        return tree

    def missing_operator(self, token: _Token) -> str:
        if token.kind in ("name", "number") or token.text == "(":
            return f"expected an operator before {_describe(token)}"
        return f"unexpected {_describe(token)}"

    def expression(self) -> Node:
        node = self.term()
        while self.at("+", "-"):
            op = self.advance()
            node = BinaryOp(op.text, node, self.term(), column=op.column)
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.at("*", "/"):
            op = self.advance()
            if op.text == "/" and self.at("/"):
                raise self.error("'//' (floor division) is not supported: use /", self.peek())
            node = BinaryOp(op.text, node, self.unary(), column=op.column)
        return node

    def unary(self) -> Node:
        if self.at("-", "+"):
            op = self.advance()
            self.enter(op)
            operand = self.unary()
            self.depth -= 1
            return UnaryOp(op.text, operand, column=op.column)
        return self.power()

    def power(self) -> Node:
        base = self.atom()
        if self.at("**"):
            op = self.advance()
            self.enter(op)
            exponent = self.unary()  # as in Python: 2**-1 is fine, and a**b**c is a**(b**c)
            self.depth -= 1
            return BinaryOp("**", base, exponent, column=op.column)
        return base

    def atom(self) -> Node:
        token = self.advance()
        if token.kind == "number":
            return Number(token.value, column=token.column)
        if token.kind == "name":
            if self.at("("):
                return self.call(token)
            if token.text in FUNCTIONS:
                raise self.error(f"'{token.text}' is a function: call it as {token.text}(...)", token)
            return Variable(token.text, column=token.column)
        if token.kind == "op" and token.text == "(":
            self.enter(token)
            inner = self.expression()
            self.close(token, "'('")
            self.depth -= 1
            return inner
        previous = self.tokens[self.pos - 2] if self.pos >= 2 else None
        after = f" after {_describe(previous)}" if previous is not None else ""
        raise self.error(f"expected a number, a variable or '('{after}, found {_describe(token)}", token)

    def call(self, name: _Token) -> Node:
        if name.text not in FUNCTIONS:
            known = ", ".join(sorted(FUNCTIONS))
            message = f"unknown function '{shorten(name.text)}' (known functions: {known})"
            close = difflib.get_close_matches(name.text.lower(), FUNCTIONS, n=1) if len(name.text) < 64 else []
            if close:
                message += f"; did you mean '{close[0]}'?"
            raise self.error(message, name)
        opening = self.advance()
        self.enter(opening)
        if self.at(")"):
            raise self.error(f"{name.text}() needs one argument", self.peek())
        argument = self.expression()
        if self.at(","):
            raise self.error(f"{name.text}() takes exactly one argument", self.peek())
        self.close(opening, f"'{name.text}('")
        self.depth -= 1
        return Call(name.text, argument, column=name.column)

    def close(self, opening: _Token, what: str) -> None:
        token = self.peek()
        if token.kind == "op" and token.text == ")":
            self.advance()
            return
        if token.kind == "end":
            raise self.error(f"missing ')' to close the {what} at column {opening.column}", token)
        raise self.error(f"expected ')' to close the {what} at column {opening.column}, found {_describe(token)}", token)


def parse(text: str) -> Node:
    """Text -> syntax tree. Raises `ExprSyntaxError` pointing at the offending column.

    ``parse("-x**2") == UnaryOp('-', BinaryOp('**', Variable('x'), Number(2.0)))``.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse() needs the expression as a str, got {type(text).__name__}")
    return _Parser(text).parse()


# ---- printing ----------------------------------------------------------------------------

# Binding strength of what a node prints as: parentheses go around a child that binds
# more loosely than its place in the parent requires.
_ADDITIVE, _MULTIPLICATIVE, _UNARY, _POWER, _ATOM = 1, 2, 3, 4, 5
_PRECEDENCE = {"+": _ADDITIVE, "-": _ADDITIVE, "*": _MULTIPLICATIVE, "/": _MULTIPLICATIVE, "**": _POWER}


def format_number(value: float) -> str:
    """The shortest text that parses back to ``value``: ``2`` for 2.0, ``0.1``, ``1e-05``."""
    if not math.isfinite(value):
        raise ValueError(f"{value} cannot be written as a number literal")
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(float(value))


def _combine(node: Node, parts: Sequence[tuple[_Text, int]]) -> tuple[list[_Text], int]:
    """The text of ``node`` as pieces to concatenate, and its precedence, given the texts and
    precedences of its children. Pieces are str or whatever text type the caller uses."""
    if isinstance(node, Number):
        if node.value < 0 or math.copysign(1.0, node.value) < 0:  # never made by the parser
            return [f"({format_number(node.value)})"], _ATOM
        return [format_number(node.value)], _ATOM
    if isinstance(node, Variable):
        return [node.name], _ATOM
    if isinstance(node, Call):
        return [f"{node.function}(", parts[0][0], ")"], _ATOM
    if isinstance(node, UnaryOp):
        text, precedence = parts[0]
        return ([node.op, "(", text, ")"] if precedence < _UNARY else [node.op, text]), _UNARY
    (left, left_prec), (right, right_prec) = parts
    own = _PRECEDENCE[node.op]

    def wrapped(text: _Text, needs_parentheses: bool) -> list[_Text]:
        return ["(", text, ")"] if needs_parentheses else [text]

    if node.op == "**":
        # right-associative; the exponent may be a unary expression (2**-x), the base not
        return [*wrapped(left, left_prec <= _POWER), "**", *wrapped(right, right_prec < _UNARY)], _POWER
    # left-associative: a - (b - c) needs its parentheses, (a - b) - c does not
    separator = f" {node.op} " if own == _ADDITIVE else node.op
    return [*wrapped(left, left_prec < own), separator, *wrapped(right, right_prec <= own)], own


@dataclass(frozen=True)
class _Clipped:
    """A text known only by its first and last `LABEL_WIDTH` characters and its length:
    enough for a label shortened to `LABEL_WIDTH`, and concatenated in constant time, so the
    labels of a 40,000-factor product take linear time instead of quadratic."""

    head: str
    tail: str
    length: int

    @staticmethod
    def join(pieces: Sequence[_Clipped | str]) -> _Clipped:
        head, tail, length = "", "", 0
        for piece in pieces:
            if isinstance(piece, str):
                piece = _Clipped(piece[:LABEL_WIDTH], piece[-LABEL_WIDTH:], len(piece))
            if len(head) < LABEL_WIDTH:
                head = (head + piece.head)[:LABEL_WIDTH]
            tail = (tail + piece.tail)[-LABEL_WIDTH:] if piece.length < LABEL_WIDTH else piece.tail
            length += piece.length
        return _Clipped(head, tail, length)

    def label(self) -> str:
        """The text itself when it fits in `LABEL_WIDTH`, else its start and "…"."""
        return self.head if self.length <= LABEL_WIDTH else self.head[: LABEL_WIDTH - 1] + "…"


_NO_TEXT = _Clipped("", "", 0)
_Text = Union[str, _Clipped]


def _check_tree(tree: object) -> Node:
    if not isinstance(tree, _NODE_TYPES):
        raise TypeError(f"expected an expression tree node or text, got {type(tree).__name__}")
    return tree


def unparse(tree: Node) -> str:
    """Syntax tree -> text with as few parentheses as possible; ``parse(unparse(t)) == t``.

    Products and powers are written tight, sums spaced, as the tutorial labels them:
    ``x1*w1 + x2*w2``.
    """
    results: list[tuple[str, int]] = []
    for node in _postorder(_check_tree(tree)):
        count = len(_children(node))
        parts = results[len(results) - count :] if count else []
        del results[len(results) - count :]
        pieces, precedence = _combine(node, parts)
        results.append(("".join(pieces), precedence))  # type: ignore[arg-type]
    return results[0][0]


def variable_names(tree: Node | str) -> list[str]:
    """The variables an expression uses, in order of first appearance."""
    root = parse(tree) if isinstance(tree, str) else _check_tree(tree)
    seen: dict[str, None] = {}
    for node in _postorder(root):
        if isinstance(node, Variable):
            seen.setdefault(node.name, None)
    return list(seen)


# ---- evaluation --------------------------------------------------------------------------


def shorten(text: str, width: int = LABEL_WIDTH) -> str:
    """``text`` cut to at most ``width`` characters, ending in "…" when it was cut."""
    return text if len(text) <= width else text[: width - 1] + "…"


def _leaf(name: str, given: object) -> Value:
    if isinstance(given, Value):
        if not given.label:
            given.label = name
        return given
    try:
        return Value(_check_number(given, f"variable '{name}'"), label=name)
    except TypeError:
        raise TypeError(
            f"variable '{name}' must be a number or a Value, got {type(given).__name__}: {given!r}"
        ) from None


def _apply(node: Node, args: list[Value], exponent_is_constant: bool) -> Value:
    if isinstance(node, Call):
        return FUNCTIONS[node.function](args[0])
    if isinstance(node, UnaryOp):
        return -args[0] if node.op == "-" else args[0]
    assert isinstance(node, BinaryOp)
    left, right = args
    if node.op == "+":
        return left + right
    if node.op == "-":
        return left - right
    if node.op == "*":
        return left * right
    if node.op == "/":
        return left / right
    if exponent_is_constant:
        # A plain-number exponent: works for negative bases (x**2, x**-1) and shows as '**2'.
        k = right.data
        return left ** (int(k) if float(k).is_integer() and abs(k) < 2**53 else k)
    return left**right


def evaluate(
    expression: Node | str,
    variables: Mapping[str, object] | None = None,
    *,
    label_nodes: bool = True,
) -> Value:
    """Build the expression's `Value` graph and return its root (call ``.backward()`` on it).

    ``variables`` maps each name to a number (wrapped in a leaf `Value` labelled with the
    name) or to a `Value` of your own (used as is, so you can read its ``.grad``); each
    variable is one node however often it is used. Names not used are ignored. Numbers in
    the text become constant leaves labelled with their text; with ``label_nodes`` every
    computed node is labelled with its sub-expression (shortened past `LABEL_WIDTH`).
    An exponent without variables is a plain number, so ``x**2`` is the engine's ``'**2'``
    and works for negative x; a variable exponent needs a positive base (d/dk x^k = x^k ln x).

    Raises `ExprSyntaxError`, `UndefinedVariableError` or `ExprMathError` (all ValueErrors).
    """
    tree = parse(expression) if isinstance(expression, str) else _check_tree(expression)
    given = dict(variables or {})
    names = variable_names(tree)
    missing = [name for name in names if name not in given]
    if missing:
        raise UndefinedVariableError(missing, list(given))
    leaves = {name: _leaf(name, given[name]) for name in names}

    # Post-order fold; each entry: (value, has_variables, (text, precedence) for labels).
    results: list[tuple[Value, bool, tuple[_Clipped, int]]] = []
    for node in _postorder(tree):
        count = len(_children(node))
        args = results[len(results) - count :] if count else []
        del results[len(results) - count :]
        if label_nodes:
            pieces, precedence = _combine(node, [a[2] for a in args])
            text: tuple[_Clipped, int] = (_Clipped.join(pieces), precedence)
        else:
            text = (_NO_TEXT, _ATOM)
        if isinstance(node, Number):
            value = Value(node.value, label=format_number(node.value))
            results.append((value, False, text))
            continue
        if isinstance(node, Variable):
            results.append((leaves[node.name], True, text))
            continue
        try:
            value = _apply(node, [a[0] for a in args], count == 2 and not args[1][1])
        except (ValueError, ZeroDivisionError, OverflowError) as error:
            raise ExprMathError(unparse(node), node.column, str(error)) from error
        if label_nodes and value is not args[0][0]:  # unary plus returns its operand: keep its label
            value.label = text[0].label()
        results.append((value, any(a[1] for a in args), text))
    return results[0][0]
