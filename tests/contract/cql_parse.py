"""The CQL half of the simulated Cassandra: the schema's tables and the
store's statements parsed, and refused where Cassandra 4.0 would refuse them
(see ``tests.contract.cql_sim``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:(<=|>=|!=|[(),=<>*+;.?])|('(?:[^']|'')*')|(\d+)|([A-Za-z_][A-Za-z0-9_]*))"
)
_RESERVED = frozenset("""
    add allow alter and apply asc authorize batch begin by columnfamily create default delete
    desc describe drop entries execute from full grant if in index infinity insert into is
    keyspace limit materialized mbean mbeans modify nan norecursive not null of on or order
    primary rename replace revoke schema select set table to token truncate unlogged unset
    update use using view where with
""".split())
_TYPES = ("text", "bigint", "int", "boolean", "counter")
UNSET = object()
class CqlRefused(AssertionError):
    """Cassandra would refuse this statement (a bug in the store, not an outage)."""


@dataclass
class Table:
    name: str
    types: dict[str, str]
    partition: tuple[str, ...]
    clustering: tuple[str, ...]
    descending: frozenset[str] = frozenset()
    rows: dict[tuple, dict[tuple, dict[str, Any]]] = field(default_factory=dict)

    @property
    def counters(self) -> bool:
        return "counter" in self.types.values()


@dataclass
class Param:
    index: int


@dataclass
class Statement:
    verb: str
    table: str
    columns: list[str] = field(default_factory=list)  # select / insert columns
    values: list[Any] = field(default_factory=list)  # insert values, update (col, value, add)
    where: list[tuple[tuple[str, ...], str, tuple[Any, ...]]] = field(default_factory=list)
    conditions: list[tuple[str, str, Any]] | str | None = None  # or "exists", "not exists"
    order: tuple[str, bool] | None = None
    limit: Any = None
    binds: list[str] = field(default_factory=list)  # the column each marker binds to


class _Tokens:
    def __init__(self, text: str) -> None:
        self.items: list[str] = []
        pos = 0
        text = text.strip().rstrip(";")
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if not match or match.end() == pos:
                raise CqlRefused(f"cannot read {text[pos:]!r}")
            self.items.append(next(g for g in match.groups() if g is not None))
            pos = match.end()
        self.pos = 0

    def peek(self) -> str | None:
        return self.items[self.pos].lower() if self.pos < len(self.items) else None

    def take(self) -> str:
        token = self.items[self.pos]
        self.pos += 1
        return token

    def accept(self, *words: str) -> bool:
        if [w.lower() for w in self.items[self.pos:self.pos + len(words)]] == list(words):
            self.pos += len(words)
            return True
        return False

    def expect(self, *words: str) -> None:
        if not self.accept(*words):
            raise CqlRefused(f"expected {' '.join(words)!r} at {self.items[self.pos:]}")

    def name(self) -> str:
        token = self.take().lower()
        if token in _RESERVED or not re.fullmatch(r"[a-z_][a-z0-9_]*", token):
            raise CqlRefused(f"{token!r} is not a usable name")
        return token

    def names(self) -> list[str]:
        self.expect("(")
        found = [self.name()]
        while self.accept(","):
            found.append(self.name())
        self.expect(")")
        return found


def parse_table(text: str) -> Table:
    t = _Tokens(text)
    t.expect("create", "table", "if", "not", "exists")
    name, types, partition, clustering = t.name(), {}, (), ()
    t.expect("(")
    while not t.accept(")"):
        if t.accept("primary", "key"):
            t.expect("(")
            partition = tuple(t.names()) if t.peek() == "(" else (t.name(),)
            rest = []
            while t.accept(","):
                rest.append(t.name())
            clustering = tuple(rest)
            t.expect(")")
        else:
            column, kind = t.name(), t.take().lower()
            if kind not in _TYPES:
                raise CqlRefused(f"type {kind} is not used here")
            types[column] = kind
            if t.accept("primary", "key"):
                partition = (column,)
        t.accept(",")
    descending = set()
    if t.accept("with", "clustering", "order", "by"):
        t.expect("(")
        for position, column in enumerate(clustering):
            if t.name() != column:
                raise CqlRefused("CLUSTERING ORDER BY must list the clustering columns in order")
            if t.take().lower() == "desc":
                descending.add(column)
            if position < len(clustering) - 1:
                t.expect(",")
        t.expect(")")
    table = Table(name, types, partition, clustering, frozenset(descending))
    if table.counters and any(types[c] != "counter" for c in types
                              if c not in partition + clustering):
        raise CqlRefused("a counter table holds only counters beside its key")
    return table


def parse_statement(text: str, tables: Mapping[str, Table]) -> Statement:
    t = _Tokens(text)
    binds: list[str] = []

    def value(column: str) -> Any:
        token = t.take()
        if token == "?":
            binds.append(column)
            return Param(len(binds) - 1)
        if token.startswith("'"):
            return token[1:-1].replace("''", "'")
        if token.isdigit():
            return int(token)
        if token.lower() in ("true", "false"):
            return token.lower() == "true"
        raise CqlRefused(f"unexpected {token!r}")

    def table_name() -> str:
        name = t.name()
        if t.accept("."):
            name = f"{name}.{t.name()}"
        if name not in tables and name != "system.local":
            raise CqlRefused(f"no table {name}")
        return name

    def relations() -> list:
        found = []
        while True:
            if t.peek() == "(":
                columns = tuple(t.names())
                op = t.take()
                t.expect("(")
                values = [value(columns[0])]
                for column in columns[1:]:
                    t.expect(",")
                    values.append(value(column))
                t.expect(")")
            else:
                columns = (t.name(),)
                op = t.take()
                values = [value(columns[0])]
            found.append((columns, op, tuple(values)))
            if not t.accept("and"):
                return found

    if t.accept("select"):
        s = Statement("select", "")
        if t.accept("count", "(", "*", ")"):
            s.columns = ["count"]
            s.verb = "count"
        else:
            s.columns = [t.name()]
            while t.accept(","):
                s.columns.append(t.name())
        t.expect("from")
        s.table = table_name()
        t.expect("where")
        s.where = relations()
        if t.accept("order", "by"):
            s.order = (t.name(), t.take().lower() == "desc")
        if t.accept("limit"):
            s.limit = value("<limit>")
    elif t.accept("insert", "into"):
        s = Statement("insert", table_name(), columns=t.names())
        t.expect("values", "(")
        s.values = [value(s.columns[0])]
        for column in s.columns[1:]:
            t.expect(",")
            s.values.append(value(column))
        t.expect(")")
        if t.accept("if", "not", "exists"):
            s.conditions = "not exists"
    elif t.accept("update"):
        s = Statement("update", table_name())
        t.expect("set")
        while True:
            column = t.name()
            t.expect("=")
            if t.peek() == column:
                t.take()
                t.expect("+")
                s.values.append((column, value(column), True))
            else:
                s.values.append((column, value(column), False))
            if not t.accept(","):
                break
        t.expect("where")
        s.where = relations()
        if t.accept("if", "exists"):
            s.conditions = "exists"
        elif t.accept("if"):
            s.conditions = [(c[0], op, v[0]) for c, op, v in relations()]
    elif t.accept("delete", "from"):
        s = Statement("delete", table_name())
        t.expect("where")
        s.where = relations()
        if t.accept("if", "exists"):
            s.conditions = "exists"
    else:
        raise CqlRefused(f"not a statement the store should send: {text}")
    if t.peek() is not None:
        raise CqlRefused(f"left over: {t.items[t.pos:]}")
    s.binds = binds
    _check_statement(s, tables)
    return s


def _check_statement(s: Statement, tables: Mapping[str, Table]) -> None:
    if s.table == "system.local":
        return
    table = tables[s.table]
    key = table.partition + table.clustering
    mentioned = list(s.columns) + [v[0] for v in s.values if s.verb == "update"]
    mentioned += [c for cols, _, _ in s.where for c in cols]
    if isinstance(s.conditions, list):
        mentioned += [c for c, _, _ in s.conditions]
    for column in mentioned:
        if column not in table.types and not (s.verb == "count" and column == "count"):
            raise CqlRefused(f"{s.table} has no column {column}")
    if s.verb == "insert":
        if set(key) - set(s.columns) or table.counters:
            raise CqlRefused("INSERT must give the whole primary key, and not into counters")
    if s.verb == "update":
        for column, _, add in s.values:
            if column in key or add != (table.types[column] == "counter"):
                raise CqlRefused(f"cannot set {column} so")
    if s.verb in ("update", "delete"):
        given = {cols[0] for cols, op, _ in s.where if op == "=" and len(cols) == 1}
        if given != set(key) or len(s.where) != len(key):
            raise CqlRefused("UPDATE and DELETE name one whole row here")
    if s.conditions and table.counters:
        raise CqlRefused("no conditions on counters")
    for column, _ in [s.order] if s.order else []:
        if not table.clustering or column != table.clustering[0]:
            raise CqlRefused("ORDER BY only on the first clustering column")
    if s.verb != "insert":
        _check_where(table, s.where)


def _check_where(table: Table, where: list) -> None:
    partition = {cols[0] for cols, op, _ in where if len(cols) == 1 and cols[0] in table.partition}
    if partition != set(table.partition) or any(
        op != "=" for cols, op, _ in where if cols[0] in table.partition
    ):
        raise CqlRefused(f"the partition key of {table.name} must be given whole, with =")
    position, sliced, multi, single = 0, False, False, False
    for cols, op, _ in where:
        if cols[0] in table.partition:
            continue
        if any(c not in table.clustering for c in cols):
            raise CqlRefused(f"{cols} would need ALLOW FILTERING")
        multi, single = multi or len(cols) > 1, single or len(cols) == 1
        start = table.clustering.index(cols[0])
        if len(cols) > 1 and tuple(table.clustering[start:start + len(cols)]) != cols:
            raise CqlRefused("a tuple relation must follow the clustering order")
        if (sliced and start != position) or start > position:
            raise CqlRefused("clustering columns restricted out of order")
        if op == "=":
            position = start + len(cols)
        elif op in ("<", "<=", ">", ">="):
            sliced, position = True, start
        else:
            raise CqlRefused(f"operator {op} is not supported here")
    if multi and single:
        raise CqlRefused("single- and multi-column relations on clustering columns mixed")
