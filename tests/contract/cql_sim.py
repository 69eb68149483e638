"""``SimCluster``: an
in-memory imitation of the few CQL shapes the Cassandra store sends.

``SimCluster`` is not Cassandra. It exists so that the Cassandra adapter runs
on every test run (no Cassandra can be installed here): the store's logic
(buckets, conflict checks, feeds, paging) and the bridge. The store gets its
real ``DriverSession``: the driver binds and serializes every value (a wrong
type fails there) and builds the batches; the simulated session answers on
another thread, two rows a page. It reads the real schema file and the
store's real statements, and refuses what Cassandra 4.0 would refuse of
them: unknown or reserved names, a partition key not given whole, clustering
columns restricted out of order, single- and multi-column relations mixed,
``LIMIT`` below 1, a null key, a statement without a consistency level, a
conditional batch over two partitions, counters mixed with other writes, a
cell written twice in one batch (Cassandra would pick a value by comparing).
An ``[applied]`` answer carries only that column. ``fail`` injects timeouts.
The real cluster runs when ``LIVECOMMENTS_TEST_CASSANDRA`` is set.
"""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cassandra import OperationTimedOut
from cassandra.cqltypes import BooleanType, CounterColumnType, Int32Type, LongType, UTF8Type
from cassandra.protocol import ColumnMetadata
from cassandra.query import UNSET_VALUE, BatchStatement, BatchType, PreparedStatement

from storage.cassandra_bridge import (
    COUNTER,
    LOGGED,
    UNLOGGED,
    CassandraOptions,
    Cql,
    DriverSession,
    schema_statements,
)
from tests.contract.cql_parse import (
    UNSET,
    CqlRefused,
    Param,
    Statement,
    Table,
    parse_statement,
    parse_table,
)

_CQL_TYPES = {"text": UTF8Type, "bigint": LongType, "int": Int32Type, "boolean": BooleanType,
              "counter": CounterColumnType}
_BATCH_KINDS = {BatchType.LOGGED.value: LOGGED, BatchType.UNLOGGED.value: UNLOGGED,
                BatchType.COUNTER.value: COUNTER}
Applied = namedtuple("Applied", ["applied"])




class SimCluster:
    """Keyspaces of tables in memory, served by one thread as a node would.
    ``connect`` has the bridge's signature and returns the real
    ``DriverSession`` over ``SimDriver`` instead of the driver's session: the
    driver itself binds and serializes values and builds batches; answers
    come back on another thread, in pages."""

    def __init__(self, page_size: int = 2) -> None:
        self.keyspaces: dict[str, dict[str, Table]] = {}
        self.faults: list[list] = []  # [statement name, "before" | "after", requests to skip]
        self.page_size = page_size
        self.lock = threading.Lock()

    def connect(self, options: CassandraOptions, statements: Mapping[str, Cql],
                schema: str) -> DriverSession:
        if not options.keyspace_cql().startswith(
            f"CREATE KEYSPACE IF NOT EXISTS {options.keyspace} WITH replication = {{'class': "
        ):
            raise CqlRefused(options.keyspace_cql())
        with self.lock:
            tables = self.keyspaces.setdefault(options.keyspace, {})
            for text in schema_statements(schema):
                table = parse_table(text)
                tables.setdefault(table.name, table)
        driver = SimDriver(self, tables, statements, options.keyspace)
        return DriverSession(driver, driver, options, statements)

    def fail(self, name: str, when: str = "before", skip: int = 0) -> None:
        """Make a request holding statement ``name`` time out, ``before`` it
        is applied or ``after`` (applied, answer lost); ``skip`` such
        requests first."""
        self.faults.append([name, when, skip])


class SimDriver:
    """What ``DriverSession`` uses of the driver's ``Cluster`` and ``Session``."""

    def __init__(self, cluster: SimCluster, tables: dict[str, Table],
                 statements: Mapping[str, Cql], keyspace: str) -> None:
        self._cluster = cluster
        self._tables = tables
        self._keyspace = keyspace
        self._names = {cql.text: name for name, cql in statements.items()}
        self._prepared: dict[bytes, tuple[str, Statement, PreparedStatement]] = {}
        self._thread: ThreadPoolExecutor | None = ThreadPoolExecutor(1, "sim-cassandra")

    def prepare(self, text: str) -> PreparedStatement:
        s = parse_statement(text, self._tables)
        columns = [
            ColumnMetadata(self._keyspace, s.table, column, _CQL_TYPES[
                "int" if column == "<limit>" else self._tables[s.table].types[column]])
            for column in s.binds
        ]
        prepared = PreparedStatement(columns, text.encode(), None, text, self._keyspace, 4,
                                     None, None)
        self._prepared[prepared.query_id] = (self._names[text], s, prepared)
        return prepared

    def execute_async(self, statement) -> SimFuture:
        if self._thread is None:
            raise RuntimeError("the simulated cluster was shut down")
        future = SimFuture(self._thread, self._cluster.page_size)
        self._thread.submit(self._serve, statement, future)
        return future

    def shutdown(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.shutdown(wait=True)

    def _serve(self, statement, future: SimFuture) -> None:
        try:
            if statement.consistency_level is None:
                raise CqlRefused("no consistency level")
            if isinstance(statement, BatchStatement):
                kind = _BATCH_KINDS[statement.batch_type.value]
                items = [self._decode(query_id, values)
                         for _, query_id, values in statement._statements_and_parameters]
            else:
                kind = None
                items = [self._decode(statement.prepared_statement.query_id, statement.values)]
            conditional = any(s.conditions for _, s, _ in items)
            if conditional and statement.serial_consistency_level is None:
                raise CqlRefused("a conditional statement without a serial consistency level")
            with self._cluster.lock:
                rows = self._run(items, kind)
        except Exception as exc:
            future.settle(exc)
            return
        future.settle(rows)

    def _decode(self, query_id: bytes, values: list) -> tuple[str, Statement, list]:
        name, s, prepared = self._prepared[query_id]
        decoded = [
            UNSET if v is UNSET_VALUE else None if v is None else meta.type.from_binary(v, 4)
            for v, meta in zip(values, prepared.column_metadata, strict=True)
        ]
        return name, s, decoded

    def _run(self, items: list[tuple[str, Statement, list]], kind: str | None) -> list[Any]:
        names = {name for name, _, _ in items}
        fault = next((f for f in self._cluster.faults if f[0] in names), None)
        if fault and fault[2]:
            fault[2] -= 1
            fault = None
        if fault:
            self._cluster.faults.remove(fault)
            if fault[1] == "before":
                raise OperationTimedOut(f"injected failure of {fault[0]}")
        rows = _Executor(self._tables).run([(s, v) for _, s, v in items], kind)
        if fault:
            raise OperationTimedOut(f"injected timeout after {fault[0]}")
        return rows


class SimFuture:
    """The part of ``ResponseFuture`` the bridge uses: callbacks and pages."""

    def __init__(self, thread: ThreadPoolExecutor, page_size: int) -> None:
        self._thread = thread
        self._page_size = page_size
        self._lock = threading.Lock()
        self._outcome: Any = None
        self._settled = False
        self._callbacks: tuple | None = None
        self._pages: list[list[Any]] = []

    @property
    def has_more_pages(self) -> bool:
        return bool(self._pages)

    def settle(self, outcome: Any) -> None:
        if isinstance(outcome, list) and outcome:
            pages = [outcome[i:i + self._page_size]
                     for i in range(0, len(outcome), self._page_size)]
            outcome, self._pages = pages[0], pages[1:]
        with self._lock:
            self._outcome, self._settled = outcome, True
            callbacks = self._callbacks
        if callbacks:
            self._deliver(*callbacks)

    def add_callbacks(self, callback, errback) -> None:
        with self._lock:
            self._callbacks = (callback, errback)
            settled = self._settled
        if settled:  # as the driver does: at once, on the caller's thread
            self._deliver(callback, errback)

    def start_fetching_next_page(self) -> None:
        page, self._pages = self._pages[0], self._pages[1:]
        self._thread.submit(self._callbacks[0], page)

    def _deliver(self, callback, errback) -> None:
        if isinstance(self._outcome, BaseException):
            errback(self._outcome)
        else:
            callback(self._outcome or None)


class _Executor:
    """Runs parsed statements on the tables, under the cluster's lock."""

    def __init__(self, tables: dict[str, Table]) -> None:
        self._tables = tables

    def run(self, bound: list[tuple[Statement, list[Any]]], kind: str | None) -> list[Any]:
        if kind is None:
            s, values = bound[0]
            if s.verb in ("select", "count"):
                return self._select(s, values)
            if s.conditions and not self._holds(s, values):
                return [Applied(False)]
            self._write(s, values, set())
            return [Applied(True)] if s.conditions else []
        if any(s.verb in ("select", "count") for s, _ in bound):
            raise CqlRefused("no SELECT in a batch")
        counters = {self._tables[s.table].counters for s, _ in bound}
        if counters != {kind == COUNTER}:
            raise CqlRefused("a COUNTER batch holds counter updates, and only those")
        conditional = any(s.conditions for s, _ in bound)
        if conditional:
            places = {(s.table, self._row(s, v)[1]) for s, v in bound}
            if len(places) > 1:
                raise CqlRefused("a batch with conditions must stay in one partition of one table")
            if not all(self._holds(s, v) for s, v in bound if s.conditions):
                return [Applied(False)]
        written: set = set()
        for s, values in bound:
            self._write(s, values, written)
        return [Applied(True)] if conditional else []

    def _where(self, s: Statement, values: list[Any]) -> tuple[tuple, list]:
        table = self._tables[s.table]
        given = {}
        rest = []
        for cols, op, vals in s.where:
            actual = tuple(values[v.index] if isinstance(v, Param) else v for v in vals)
            if any(v is None or v is UNSET for v in actual):
                raise CqlRefused(f"null in the key of {s.table}")
            if len(cols) == 1 and cols[0] in table.partition:
                given[cols[0]] = actual[0]
            else:
                rest.append((tuple(table.clustering.index(c) for c in cols), op, actual))
        return tuple(given[c] for c in table.partition), rest

    def _select(self, s: Statement, values: list[Any]) -> list[Any]:
        if s.table == "system.local":
            return [namedtuple("Row", s.columns)("4.0-sim")]
        table = self._tables[s.table]
        partition, rest = self._where(s, values)
        limit = values[s.limit.index] if isinstance(s.limit, Param) else s.limit
        if limit is not None and limit < 1:
            raise CqlRefused("LIMIT must be strictly positive")
        rows = [
            (ck, row) for ck, row in table.rows.get(partition, {}).items()
            if all(_compare(tuple(ck[i] for i in idx), op, vals) for idx, op, vals in rest)
        ]
        rows.sort(key=lambda item: tuple(
            _Reversed(v) if c in table.descending else v
            for c, v in zip(table.clustering, item[0], strict=True)
        ))
        if s.order and s.order[1] != (s.order[0] in table.descending):
            rows.reverse()
        if s.verb == "count":
            return [namedtuple("Row", ["count"])(len(rows))]
        rows = rows[:limit] if limit is not None else rows
        shape = namedtuple("Row", s.columns)
        out = []
        for ck, row in rows:
            key = dict(zip(table.partition, partition, strict=True))
            key.update(zip(table.clustering, ck, strict=True))
            out.append(shape(*(key[c] if c in key else row.get(c) for c in s.columns)))
        return out

    def _row(self, s: Statement, values: list[Any]) -> tuple[dict, tuple, tuple]:
        table = self._tables[s.table]
        if s.verb == "insert":
            given = {c: values[v.index] if isinstance(v, Param) else v
                     for c, v in zip(s.columns, s.values, strict=True)}
            if any(given[c] is None or given[c] is UNSET
                   for c in table.partition + table.clustering):
                raise CqlRefused(f"null in the key of {s.table}")
            partition = tuple(given[c] for c in table.partition)
            ck = tuple(given[c] for c in table.clustering)
        else:
            partition, rest = self._where(s, values)
            ck = tuple(vals[0] for _, _, vals in sorted(rest))
        return table.rows.setdefault(partition, {}), partition, ck

    def _holds(self, s: Statement, values: list[Any]) -> bool:
        rows, _, ck = self._row(s, values)
        row = rows.get(ck)
        if s.conditions == "not exists":
            return row is None
        if s.conditions == "exists":
            return row is not None
        return all(
            _compare(((row or {}).get(c),), op, (values[v.index] if isinstance(v, Param) else v,))
            for c, op, v in s.conditions
        )

    def _write(self, s: Statement, values: list[Any], written: set) -> None:
        table = self._tables[s.table]
        rows, partition, ck = self._row(s, values)
        if s.verb == "delete":
            rows.pop(ck, None)
            return
        if s.verb == "insert":
            cells = [(c, values[v.index] if isinstance(v, Param) else v, False)
                     for c, v in zip(s.columns, s.values, strict=True)
                     if c not in table.partition + table.clustering]
            row = rows.setdefault(ck, {})
        else:
            cells = [(c, values[v.index] if isinstance(v, Param) else v, add)
                     for c, v, add in s.values]
            row = rows.get(ck)
            if row is None:
                if all(v is None for _, v, _ in cells):
                    return
                row = rows.setdefault(ck, {})
        for column, v, add in cells:
            if v is UNSET:
                continue
            cell = (s.table, partition, ck, column)
            if cell in written:
                raise CqlRefused(f"{cell} written twice in one batch")
            written.add(cell)
            row[column] = (row.get(column) or 0) + v if add else v


class _Reversed:
    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Reversed) -> bool:
        return other.value < self.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and other.value == self.value


def _compare(left: tuple, op: str, right: tuple) -> bool:
    if op == "=":
        return left == right
    if op == "!=":
        return left != right
    if any(v is None for v in left + right):
        return False
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]
