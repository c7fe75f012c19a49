"""Rows read by plain SQL, given the values the ORM would give them.

The hot reads of a sign-in (``cookie.devices_by_hash``, the risk model's
one statement) skip the ORM's query compiler; what they must not skip is
its column converters (SQLite's text times, JSON, a custom primary key's
``from_db_value`` on a foreign key), applied here as the compiler would.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from typing import Any


class RowConverter:
    """The converters of some columns of a row, applied to rows read raw.

    ``columns``: column index -> the column's expression (``field.get_col``).
    The converters are worked out once per connection object (each thread
    has its own; they are bound to it) and dropped with it.
    """

    def __init__(self, columns: Mapping[int, Any]) -> None:
        self._columns = dict(columns)
        self._found: weakref.WeakKeyDictionary[Any, list[tuple[int, list[Any], Any]]] = (
            weakref.WeakKeyDictionary()
        )

    def _converters(self, connection: Any) -> list[tuple[int, list[Any], Any]]:
        found = self._found.get(connection)
        if found is None:
            found = []
            for index, column in self._columns.items():
                converters = [
                    *connection.ops.get_db_converters(column),
                    *column.get_db_converters(connection),  # a foreign key's target's too
                ]
                if converters:
                    found.append((index, converters, column))
            self._found[connection] = found
        return found

    def rows(self, rows: Iterable[tuple], connection: Any) -> list[tuple]:
        converters = self._converters(connection)
        if not converters:
            return list(rows)
        converted = []
        for row in rows:
            values = list(row)
            for index, functions, column in converters:
                for convert in functions:
                    values[index] = convert(values[index], column, connection)
            converted.append(tuple(values))
        return converted
