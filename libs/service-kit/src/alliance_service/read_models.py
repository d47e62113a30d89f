"""Read-only HTTP access to a read-model table: list and get-by-key, for any authenticated principal."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from alliance_auth.fastapi import CurrentPrincipal

from .problems import not_found


def read_model_router(engine: AsyncEngine, table: Table, model: type[BaseModel], *, prefix: str, key: str,
                      noun: str, tags: list[str]) -> APIRouter:
    """`GET {prefix}` and `GET {prefix}/{key}` returning rows of `table` shaped as `model`."""
    r = APIRouter(prefix=prefix, tags=tags)
    columns = [table.c[name] for name in model.model_fields]
    key_column = table.c[key]

    async def list_all(_: CurrentPrincipal) -> list[model]:  # type: ignore[valid-type]
        async with engine.connect() as conn:
            rows = (await conn.execute(select(*columns).order_by(key_column))).all()
        return [model.model_validate(row._mapping) for row in rows]

    async def get_one(item_id: str, _: CurrentPrincipal) -> model:  # type: ignore[valid-type]
        async with engine.connect() as conn:
            row = (await conn.execute(select(*columns).where(key_column == item_id))).first()
        if row is None:
            raise not_found(f"{noun} {item_id}")
        return model.model_validate(row._mapping)

    slug = noun.replace(" ", "_")   # operation ids (see openapi.py): list_member_<noun>s, get_member_<noun>
    r.add_api_route("", list_all, methods=["GET"], response_model=list[model], summary=f"Every {noun}",
                    name=f"list_member_{slug}s")
    r.add_api_route("/{item_id}", get_one, methods=["GET"], response_model=model, summary=f"One {noun}",
                    name=f"get_member_{slug}")
    return r
