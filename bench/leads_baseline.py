"""bench.leads' baseline: a bare aiohttp handler that decodes a lead into the
same msgspec struct, applies the same checks and INSERTs it in one statement.

    python -m bench.leads_baseline PORT DSN   (bench.leads starts it)
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator

import asyncpg
import msgspec
import orjson
from aiohttp import web

from protocols.api.leads import LeadRequest, check_lead

POOL: web.AppKey[asyncpg.Pool] = web.AppKey("pool")


def serve(port: int, dsn: str) -> None:
    decoder = msgspec.json.Decoder(LeadRequest)

    async def pool_ctx(app: web.Application) -> AsyncIterator[None]:
        app[POOL] = await asyncpg.create_pool(dsn, min_size=2, max_size=10)
        yield
        await app[POOL].close()

    async def handle(request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body = decoder.decode(raw)
            check_lead(body)
        except Exception:
            return web.Response(status=422)
        lead_id = await request.app[POOL].fetchval(
            "INSERT INTO bench_leads (body) VALUES ($1::text::jsonb) RETURNING id", raw.decode()
        )
        return web.Response(
            body=orjson.dumps({"id": str(lead_id), "status": "received"}),
            status=202,
            content_type="application/json",
        )

    app = web.Application()
    app.cleanup_ctx.append(pool_ctx)
    app.router.add_post("/api/leads", handle)
    web.run_app(app, host="127.0.0.1", port=port, print=None)


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2])
