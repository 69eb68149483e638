"""The edge between the Cassandra store and the driver: options read from the
store URL, the connection (keyspace, schema, prepared statements) and the
driver's ``ResponseFuture`` turned into something asyncio can await.

The store itself (``storage.cassandra``) only names statements and passes
values; it talks to a ``CqlSession``. ``connect`` builds the real one, tests
may plug in another. Every error the driver reports for a request becomes
``StoreUnavailable`` (``raise ... from exc``): no host, timeouts (client side
and server side), unavailable replicas, overload.

URL: ``cassandra://host1,host2:9042/keyspace?option=value&...``; one port for
all hosts (9042 by default). Options, all optional:

* ``replication``: ``SimpleStrategy`` (default) with ``replication_factor``
  (default 1), or ``NetworkTopologyStrategy`` with one ``<dc>=<rf>`` per data
  centre, e.g. ``?replication=NetworkTopologyStrategy&dc1=3&dc2=3``. Only used
  to create a missing keyspace; an existing one keeps its replication (change
  it with ``ALTER KEYSPACE``).
* ``write_consistency`` (default ``LOCAL_QUORUM``), ``read_consistency``
  (default ``LOCAL_QUORUM``), ``serial_consistency`` (``LOCAL_SERIAL`` or
  ``SERIAL``, default ``LOCAL_SERIAL``); see ``storage.cassandra``.
* ``local_dc``: the data centre to route to (default: that of the hosts).
* ``protocol_version``: 4 (default) or 5; both are served by Cassandra 4.0.
* ``request_timeout``, ``connect_timeout``: seconds (default 10 and 5).
* ``bucket_size``: events per partition of a room (default 10000). Fixed
  when the keyspace is created; opening it with another size is refused.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from livecomments.errors import StoreUnavailable
from livecomments.settings import SettingsError

LOGGED, UNLOGGED, COUNTER = "logged", "unlogged", "counter"
WRITE, READ, SERIAL, ONE = "write", "read", "serial", "one"

_KEYSPACE = re.compile(r"[a-z][a-z0-9_]{0,47}")
_HOST = re.compile(
    r"(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9._-]+))(?::(?P<port>\d{1,5}))?"
)
_DC = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_WRITE_LEVELS = ("ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_QUORUM", "EACH_QUORUM", "LOCAL_ONE")
_READ_LEVELS = ("ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_QUORUM", "LOCAL_ONE")
_OPTIONS = frozenset({
    "replication", "replication_factor", "write_consistency", "read_consistency",
    "serial_consistency", "local_dc", "protocol_version", "request_timeout", "connect_timeout",
    "bucket_size",
})


@dataclass(frozen=True)
class Cql:
    """One statement the store prepares: its text, the consistency it runs at
    (``WRITE``, ``READ``, ``SERIAL`` or ``ONE``), whether the driver may retry
    or speculate it, and whether a None value means "leave unset" (a fresh
    row then carries no null tombstones) rather than "delete the cell"."""

    text: str
    consistency: str = WRITE
    idempotent: bool = False
    sparse: bool = False


class CqlSession(Protocol):
    async def rows(self, name: str, values: Sequence[Any] = ()) -> list[Any]:
        """Run statement ``name``; its rows (all pages), or ``[]``. A
        conditional statement answers one row whose first column is ``[applied]``."""

    async def batch(self, kind: str, items: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Run ``items`` as one ``LOGGED``, ``UNLOGGED`` or ``COUNTER`` batch."""

    async def close(self) -> None:
        """Release the connections."""


@dataclass(frozen=True)
class CassandraOptions:
    hosts: tuple[str, ...]
    port: int
    keyspace: str
    strategy: str = "SimpleStrategy"
    replication: tuple[tuple[str, int], ...] = (("replication_factor", 1),)
    write_consistency: str = "LOCAL_QUORUM"
    read_consistency: str = "LOCAL_QUORUM"
    serial_consistency: str = "LOCAL_SERIAL"
    local_dc: str = ""
    protocol_version: int = 4
    request_timeout: float = 10.0
    connect_timeout: float = 5.0
    bucket_size: int = 10_000

    @classmethod
    def from_url(cls, url: str) -> CassandraOptions:
        parts = urlsplit(url)
        if parts.scheme != "cassandra":
            raise SettingsError(f"not a cassandra:// URL: {url!r}")
        if "@" in parts.netloc:
            raise SettingsError("LIVECOMMENTS_STORE_URL: credentials in the URL are not supported")
        hosts, port = _hosts(parts.netloc)
        keyspace = parts.path.strip("/").lower()
        if not _KEYSPACE.fullmatch(keyspace):
            raise SettingsError(
                "LIVECOMMENTS_STORE_URL: name a keyspace, cassandra://host1,host2:9042/keyspace"
                " (letters, digits, _; at most 48)"
            )
        options: dict[str, str] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key in options:
                raise SettingsError(f"LIVECOMMENTS_STORE_URL: option {key!r} given twice")
            options[key] = value
        strategy, replication = _replication(options)
        serial = options.get("serial_consistency", "LOCAL_SERIAL").upper()
        if serial not in ("SERIAL", "LOCAL_SERIAL"):
            raise SettingsError("serial_consistency must be SERIAL or LOCAL_SERIAL")
        protocol = _number(options, "protocol_version", 4, int)
        if protocol not in (4, 5):
            raise SettingsError("protocol_version must be 4 or 5")
        return cls(
            hosts=hosts,
            port=port,
            keyspace=keyspace,
            strategy=strategy,
            replication=replication,
            write_consistency=_level(options, "write_consistency", _WRITE_LEVELS),
            read_consistency=_level(options, "read_consistency", _READ_LEVELS),
            serial_consistency=serial,
            local_dc=options.get("local_dc", ""),
            protocol_version=protocol,
            request_timeout=_number(options, "request_timeout", 10.0, float),
            connect_timeout=_number(options, "connect_timeout", 5.0, float),
            bucket_size=_number(options, "bucket_size", 10_000, int),
        )

    def keyspace_cql(self) -> str:
        """``CREATE KEYSPACE IF NOT EXISTS``; DDL takes no bind markers, so the
        name and the map are built here from values ``from_url`` validated."""
        pairs = ", ".join(f"'{key}': {value}" for key, value in self.replication)
        return (
            f"CREATE KEYSPACE IF NOT EXISTS {self.keyspace} WITH replication ="
            f" {{'class': '{self.strategy}', {pairs}}}"
        )


def _hosts(netloc: str) -> tuple[tuple[str, ...], int]:
    hosts, ports = [], set()
    for item in netloc.split(","):
        match = _HOST.fullmatch(item.strip())
        if not match:
            raise SettingsError(f"LIVECOMMENTS_STORE_URL: bad Cassandra host {item!r}")
        hosts.append(match["v6"] or match["name"])
        if match["port"]:
            ports.add(int(match["port"]))
    if len(ports) > 1:
        raise SettingsError("LIVECOMMENTS_STORE_URL: give one port for all Cassandra hosts")
    port = ports.pop() if ports else 9042
    if not 1 <= port <= 65535:
        raise SettingsError(f"LIVECOMMENTS_STORE_URL: bad port {port}")
    return tuple(hosts), port


def _replication(options: dict[str, str]) -> tuple[str, tuple[tuple[str, int], ...]]:
    strategy = options.get("replication", "SimpleStrategy").lower()
    extra = {k: v for k, v in options.items() if k not in _OPTIONS}
    if strategy in ("simplestrategy", "simple"):
        if extra:
            raise SettingsError(f"unknown Cassandra URL options: {', '.join(sorted(extra))}")
        return "SimpleStrategy", (("replication_factor", _number(options, "replication_factor",
                                                                 1, int)),)
    if strategy not in ("networktopologystrategy", "nts"):
        raise SettingsError("replication must be SimpleStrategy or NetworkTopologyStrategy")
    if "replication_factor" in options or not extra:
        raise SettingsError("NetworkTopologyStrategy takes one <dc>=<rf> per data centre")
    for dc in extra:
        if not _DC.fullmatch(dc):
            raise SettingsError(f"bad data centre name {dc!r}")
    return "NetworkTopologyStrategy", tuple(
        (dc, _number(extra, dc, 0, int)) for dc in sorted(extra)
    )


def _level(options: dict[str, str], name: str, allowed: tuple[str, ...]) -> str:
    value = options.get(name, "LOCAL_QUORUM").upper()
    if value not in allowed:
        raise SettingsError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _number(options: Mapping[str, str], name: str, default, kind):
    raw = options.get(name)
    if raw is None:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"Cassandra URL option {name} must be a number, got {raw!r}") from None
    if not value > 0:
        raise SettingsError(f"Cassandra URL option {name} must be positive, got {raw!r}")
    return value


def schema_statements(text: str) -> list[str]:
    """The statements of a ``.cql`` file: ``--`` comments dropped, split on ``;``."""
    lines = [line.split("--", 1)[0] for line in text.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def connect(options: CassandraOptions, statements: Mapping[str, Cql], schema: str) -> CqlSession:
    """Connect, create the keyspace and the tables if missing, prepare every
    statement. Blocking: run it in a thread (``asyncio.to_thread``)."""
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy

    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=options.local_dc)),
        request_timeout=options.request_timeout,
    )
    cluster = Cluster(
        list(options.hosts),
        port=options.port,
        protocol_version=options.protocol_version,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        connect_timeout=options.connect_timeout,
    )
    ddl_timeout = max(60.0, options.request_timeout)  # schema changes wait for agreement
    try:
        session = cluster.connect()
        session.execute(options.keyspace_cql(), timeout=ddl_timeout)
        session.set_keyspace(options.keyspace)
        for statement in schema_statements(schema):
            session.execute(statement, timeout=ddl_timeout)
        return DriverSession(cluster, session, options, statements)
    except BaseException:
        cluster.shutdown()
        raise


class DriverSession:
    """A ``CqlSession`` over the DataStax driver."""

    def __init__(self, cluster, session, options: CassandraOptions,
                 statements: Mapping[str, Cql]) -> None:
        from cassandra import ConsistencyLevel
        from cassandra.query import UNSET_VALUE, BatchStatement, BatchType

        self._cluster = cluster
        self._session = session
        self._batch_class = BatchStatement
        self._batch_types = {LOGGED: BatchType.LOGGED, UNLOGGED: BatchType.UNLOGGED,
                             COUNTER: BatchType.COUNTER}
        self._unset = UNSET_VALUE
        levels = ConsistencyLevel.name_to_value
        self._write = levels[options.write_consistency]
        self._serial = levels[options.serial_consistency]
        by_kind = {WRITE: self._write, READ: levels[options.read_consistency],
                   SERIAL: self._serial, ONE: ConsistencyLevel.ONE}
        self._specs = dict(statements)
        self._prepared = {}
        for name, cql in statements.items():
            prepared = session.prepare(cql.text)
            prepared.consistency_level = by_kind[cql.consistency]
            prepared.serial_consistency_level = self._serial
            prepared.is_idempotent = cql.idempotent
            self._prepared[name] = prepared

    def _bind(self, name: str, values: Sequence[Any]):
        prepared, spec = self._prepared[name], self._specs[name]
        if len(values) != len(prepared.column_metadata):
            # the driver would silently leave missing values unset
            raise ValueError(f"{name}: {len(values)} values for "
                             f"{len(prepared.column_metadata)} bind markers")
        if spec.sparse:
            values = [self._unset if v is None else v for v in values]
        return prepared.bind(values)

    async def rows(self, name: str, values: Sequence[Any] = ()) -> list[Any]:
        return await _execute(self._session, self._bind(name, values))

    async def batch(self, kind: str, items: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        batch = self._batch_class(batch_type=self._batch_types[kind],
                                  consistency_level=self._write,
                                  serial_consistency_level=self._serial)
        for name, values in items:
            batch.add(self._bind(name, values))
        batch.is_idempotent = kind != COUNTER and all(
            self._specs[name].idempotent for name, _ in items
        )
        return await _execute(self._session, batch)

    async def close(self) -> None:
        await asyncio.to_thread(self._cluster.shutdown)


async def _execute(session, statement) -> list[Any]:
    """Send ``statement`` and await its rows without blocking the loop: the
    driver calls back on its own IO thread, which hands the outcome to the
    loop with ``call_soon_threadsafe``. Later pages are fetched from the
    callback."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[list[Any]] = loop.create_future()
    rows: list[Any] = []
    try:
        response = session.execute_async(statement)
    except Exception as exc:  # e.g. the session was shut down
        raise StoreUnavailable(f"cassandra: {type(exc).__name__}: {exc}") from exc

    def on_page(page) -> None:
        try:
            if page:
                rows.extend(page)
            if response.has_more_pages:
                response.start_fetching_next_page()
                return
        except Exception as exc:
            _hand_over(loop, done, exc)
            return
        _hand_over(loop, done, rows)

    def on_error(exc: BaseException) -> None:
        _hand_over(loop, done, exc)

    response.add_callbacks(on_page, on_error)
    try:
        return await done
    except Exception as exc:
        raise StoreUnavailable(f"cassandra: {type(exc).__name__}: {exc}") from exc


def _hand_over(loop: asyncio.AbstractEventLoop, done: asyncio.Future, outcome) -> None:
    def settle() -> None:
        if done.done():  # the awaiting task was cancelled
            return
        if isinstance(outcome, BaseException):
            done.set_exception(outcome)
        else:
            done.set_result(outcome)

    try:
        loop.call_soon_threadsafe(settle)
    except RuntimeError:  # the loop is closed: nobody is waiting any more
        pass
