"""Answers the store's PostgREST requests from a real PostgreSQL, for pytest-httpx.

Only the request shapes `SupabaseStore` sends are understood, each run the way
PostgREST runs it: in one transaction as the service role, JSON bodies cast to the
columns by `json_populate_recordset`, function arguments cast to their declared
types, and errors answered as PostgREST answers them (SQLSTATE in `code`).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import psycopg
from psycopg import sql

PREFIX = "/rest/v1/"
ERROR_STATUS = {"23505": 409, "23503": 409, "42501": 403}


class PostgrestStandin:
    """A pytest-httpx callback holding one connection to the migrated database."""

    def __init__(self, conninfo: str) -> None:
        self._conn = psycopg.connect(conninfo)
        self.requests: list[httpx.Request] = []

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        """Run the request as the service role and answer like PostgREST."""
        self.requests.append(request)
        path = request.url.path.removeprefix(PREFIX)
        try:
            with self._conn.transaction():
                self._conn.execute("set local role service_role")
                return self._dispatch(request, path)
        except psycopg.Error as exc:
            return _error(exc)

    def _dispatch(self, request: httpx.Request, path: str) -> httpx.Response:
        if path.startswith("rpc/"):
            return self._rpc(path.removeprefix("rpc/"), json.loads(request.content))
        if request.method == "POST":
            return self._upsert(path, request)
        return self._select(path, request.url.params)

    def _rpc(self, name: str, params: dict[str, Any]) -> httpx.Response:
        types: dict[str, str] = dict(
            self._conn.execute(
                """select unnest(proargnames), unnest(proargtypes::regtype[])::text
                   from pg_proc where proname = %s
                     and pronamespace = 'public'::regnamespace""",
                (name,),
            ).fetchall()
        )
        args = [
            sql.SQL("{} => %s::{}").format(sql.Identifier(key), sql.SQL(types[key]))
            for key in params
        ]
        query = sql.SQL("select to_jsonb(public.{}({}))").format(
            sql.Identifier(name), sql.SQL(", ").join(args)
        )
        row = self._conn.execute(
            query, [_as_text(v) for v in params.values()]
        ).fetchone()
        return _json(200, row[0] if row else None)

    def _upsert(self, table: str, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        rows = body if isinstance(body, list) else [body]
        columns = [sql.Identifier(name) for name in rows[0]]
        targets = [
            sql.Identifier(name)
            for name in request.url.params["on_conflict"].split(",")
        ]
        if "resolution=ignore-duplicates" in request.headers.get("prefer", ""):
            action: sql.Composable = sql.SQL("do nothing")
        else:
            updates = [sql.SQL("{0} = excluded.{0}").format(c) for c in columns]
            action = sql.SQL("do update set {}").format(sql.SQL(", ").join(updates))
        statement = sql.SQL(
            "insert into public.{t} ({c}) select {c} "
            "from json_populate_recordset(null::public.{t}, %s::json) "
            "on conflict ({k}) {a}"
        ).format(
            t=sql.Identifier(table),
            c=sql.SQL(", ").join(columns),
            k=sql.SQL(", ").join(targets),
            a=action,
        )
        self._conn.execute(statement, (json.dumps(rows),))
        return httpx.Response(201)

    def _select(self, table: str, params: httpx.QueryParams) -> httpx.Response:
        columns = [sql.Identifier(c) for c in params["select"].split(",")]
        filters, values = [], []
        for key, value in params.multi_items():
            if value.startswith("eq."):
                filters.append(sql.SQL("{} = %s").format(sql.Identifier(key)))
                values.append(value.removeprefix("eq."))
        query: sql.Composable = sql.SQL("select {} from public.{}").format(
            sql.SQL(", ").join(columns), sql.Identifier(table)
        )
        if filters:
            query += sql.SQL(" where ") + sql.SQL(" and ").join(filters)
        if "order" in params:
            name = params["order"].split(".")[0]
            query += sql.SQL(" order by {}").format(sql.Identifier(name))
        if "limit" in params:
            query += sql.SQL(" limit {}").format(sql.Literal(int(params["limit"])))
        wrapped = sql.SQL("select coalesce(json_agg(r), '[]') from ({}) r").format(
            query
        )
        row = self._conn.execute(wrapped, values).fetchone()
        return _json(200, row[0] if row else [])


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


def _json(status: int, value: Any) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(value).encode(),
        headers={"content-type": "application/json"},
    )


def _error(exc: psycopg.Error) -> httpx.Response:
    code = exc.sqlstate or "XX000"
    body = {"code": code, "message": str(exc), "details": None, "hint": None}
    return _json(ERROR_STATUS.get(code, 400), body)
