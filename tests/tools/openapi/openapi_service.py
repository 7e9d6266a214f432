"""The pet service the OpenAPI tests import: real HTTP on 127.0.0.1, its own OpenAPI 3.1 spec."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Header, HTTPException, Query, Request, Response
from pydantic import BaseModel

from fluxio.tools.outbound import OutboundClient

SPECS = Path(__file__).parent / "specs"


class NewPet(BaseModel):
    name: str
    tag: str | None = None


class Pet(NewPet):
    id: int


def pet_service() -> FastAPI:
    """A small pet API; each route exercises one part of the request/response mapping."""
    app = FastAPI(title="Pet service", version="2.1.0")
    pets: dict[int, Pet] = {1: Pet(id=1, name="Rex", tag="dog")}

    @app.get("/pets", operation_id="list_pets", tags=["pets"], response_model=list[Pet])
    async def list_pets(limit: int = 10, tag: str | None = None) -> list[Pet]:
        found = [p for p in pets.values() if tag is None or p.tag == tag]
        return found[:limit]

    @app.post("/pets", operation_id="create_pet", tags=["pets"], status_code=201)
    async def create_pet(pet: NewPet) -> Pet:
        created = Pet(id=max(pets) + 1, **pet.model_dump())
        pets[created.id] = created
        return created

    @app.get("/pets/{pet_id}", operation_id="get_pet", tags=["pets"])
    async def get_pet(pet_id: int) -> Pet:
        if pet_id not in pets:
            raise HTTPException(404, detail=f"pet {pet_id} not found")
        return pets[pet_id]

    @app.delete("/pets/{pet_id}", operation_id="delete_pet", tags=["pets"], status_code=204)
    async def delete_pet(pet_id: int) -> Response:
        pets.pop(pet_id, None)
        return Response(status_code=204)

    @app.get("/files/{name:path}", operation_id="read_file", tags=["files"])
    async def read_file(name: str) -> dict[str, str]:
        return {"name": name}

    @app.get("/search", operation_id="search", tags=["files"])
    async def search(tags: list[str] = Query(default=[])) -> dict[str, list[str]]:  # noqa: B008
        return {"tags": tags}

    @app.get("/maintenance", operation_id="maintenance", tags=["ops"])
    async def maintenance() -> Response:
        body = '{"detail": "down for maintenance"}'
        return Response(body, 503, {"Retry-After": "7"}, media_type="application/json")

    @app.get("/limited", operation_id="limited", tags=["ops"])
    async def limited() -> Response:
        return Response("slow down", 429, media_type="text/plain")

    @app.get("/whoami", operation_id="whoami", tags=["auth"])
    async def whoami(
        request: Request, x_trace: str | None = Header(default=None)
    ) -> dict[str, str]:
        seen = {"authorization": request.headers.get("authorization", "")}
        seen["api_key"] = request.headers.get("x-api-key") or request.query_params.get("key", "")
        seen["trace"] = x_trace or ""
        auth = seen["authorization"]
        if auth.startswith("Basic "):
            seen["basic_user"] = base64.b64decode(auth[6:]).decode().split(":")[0]
        return seen

    @app.get("/moved", operation_id="moved", tags=["ops"])
    async def moved() -> Response:
        return Response(status_code=307, headers={"Location": "/pets"})

    @app.get("/greeting", operation_id="greeting", tags=["text"])
    async def greeting() -> Response:
        return Response("hello there", media_type="text/plain")

    return app


@dataclass
class Service:
    """The running service: its base URL and a client allowed to reach loopback."""

    url: str
    client: OutboundClient

    @property
    def spec_url(self) -> str:
        return f"{self.url}/openapi.json"
