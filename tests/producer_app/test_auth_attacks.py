"""The producer's JWT check under attack, against a real JWKS served on loopback.

Every forged, stale, re-signed or oversized token must get a JSON 401, and the JWKS
must be fetched once and refreshed only for an unknown key id, never per request.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from testdata import user_claims

from jobsearch.serving import BackgroundServer
from producer_app.main import create_app

SECRET = "hs256-secret-for-attack-tests-0123456789abcdef"
SUPABASE_URL = "https://project.supabase.test"
ISSUER = f"{SUPABASE_URL}/auth/v1"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
NEXT_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ATTACKER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_PEM = KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)
BODY = {"searchQuery": "python developer"}


def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    """The public half of `key` as a JWK with `kid`."""
    public = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**public, "kid": kid, "alg": "RS256", "use": "sig"}


def claims(**overrides: Any) -> dict[str, Any]:
    """Claims of a valid signed-in user's token from this project's issuer."""
    return user_claims(**{"iss": ISSUER, **overrides})


def hs256(secret: str = SECRET, **overrides: Any) -> str:
    """A token signed with an HMAC secret."""
    return jwt.encode(claims(**overrides), secret, algorithm="HS256")


def rs256(
    key: rsa.RSAPrivateKey = KEY,
    kid: object = "key-1",
    headers: dict[str, Any] | None = None,
    **overrides: Any,
) -> str:
    """A token signed with an RSA key, naming `kid`."""
    extra = {"kid": kid, **(headers or {})}
    return jwt.encode(claims(**overrides), key, algorithm="RS256", headers=extra)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_signed(header: dict[str, Any], mac_key: bytes | None) -> str:
    """A token assembled by hand: unsigned when `mac_key` is None, else HMAC-SHA256.

    PyJWT refuses to make these, which is the point of the attacks.
    """
    signing_input = ".".join(
        _b64(json.dumps(part).encode()) for part in (header, claims())
    )
    if mac_key is None:
        return f"{signing_input}."
    mac = hmac.new(mac_key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


def tampered() -> str:
    """A valid token whose payload was swapped for another user's, signature kept."""
    header, _, signature = hs256().split(".")
    other = _b64(
        json.dumps(claims(sub="00000000-0000-4000-8000-00000000beef")).encode()
    )
    return f"{header}.{other}.{signature}"


def embedded_jwk() -> str:
    """Signed by the attacker, carrying the attacker's own key in the header."""
    return rs256(ATTACKER_KEY, headers={"jwk": jwk(ATTACKER_KEY, "key-1")})


@dataclass
class IdentityServer:
    """A loopback stand-in for Supabase's JWKS and Confluent's REST produce."""

    keys: list[dict[str, Any]] = field(default_factory=lambda: [jwk(KEY, "key-1")])
    jwks_status: int = 200
    jwks_body: bytes | None = None
    fetches: int = 0
    jwks_authorization: list[str] = field(default_factory=list)
    produced: int = 0

    def app(self) -> Starlette:
        """The ASGI app serving both routes."""
        return Starlette(
            routes=[
                Route("/auth/v1/.well-known/jwks.json", self._jwks),
                Route(
                    "/kafka/v3/clusters/{cluster}/topics/{topic}/records",
                    self._produce,
                    methods=["POST"],
                ),
            ]
        )

    async def _jwks(self, request: Request) -> Response:
        self.fetches += 1
        self.jwks_authorization.append(request.headers.get("authorization", ""))
        if self.jwks_body is not None:
            return Response(self.jwks_body, status_code=self.jwks_status)
        return JSONResponse({"keys": self.keys}, status_code=self.jwks_status)

    async def _produce(self, request: Request) -> Response:
        self.produced += 1
        return JSONResponse({"error_code": 200, "partition_id": 0, "offset": 1})


@pytest.fixture
async def identity() -> AsyncIterator[tuple[IdentityServer, str]]:
    """The identity server, running on 127.0.0.1, and its base URL."""
    server = IdentityServer()
    async with BackgroundServer(server.app()) as running:
        yield server, running.url


@pytest.fixture
def producer(
    identity: tuple[IdentityServer, str], make_settings: Any, serve_app: Any
) -> Callable[..., contextlib.AbstractAsyncContextManager[Any]]:
    """`async with producer(**settings) as client:` a producer using the server."""
    _, url = identity

    def start(**overrides: Any) -> contextlib.AbstractAsyncContextManager[Any]:
        values: dict[str, Any] = {
            "confluent_rest_url": url,
            "supabase_url": SUPABASE_URL,
            "supabase_jwt_secret": SECRET,
            "supabase_jwks_url": f"{url}/auth/v1/.well-known/jwks.json",
            # These tests send many searches as one user on purpose.
            "admission_per_user_burst": 1000,
            "admission_per_user_per_minute": 100_000,
        }
        values.update(overrides)
        served: contextlib.AbstractAsyncContextManager[Any] = serve_app(
            create_app(make_settings(**values))
        )
        return served

    return start


async def submit(client: Any, token: str) -> Any:
    """POST a valid search with `token` as the bearer."""
    return await client.post(
        "/jobs-search", json=BODY, headers={"Authorization": f"Bearer {token}"}
    )


def assert_refused(response: Any) -> None:
    """A 401 with the shared JSON error body and a bearer challenge."""
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert response.json()["message"]
    assert response.headers["www-authenticate"].startswith("Bearer")


ATTACKS: dict[str, Callable[[], str]] = {
    "forged with another HS256 secret": lambda: hs256(secret="not-the-secret" * 4),
    "payload swapped, signature kept": tampered,
    "expired an hour ago": lambda: hs256(exp=int(time.time()) - 3600),
    "not valid before a future time": lambda: hs256(nbf=int(time.time()) + 3600),
    "alg none": lambda: hand_signed({"alg": "none", "typ": "JWT"}, None),
    "alg None, mixed case": lambda: hand_signed({"alg": "None", "typ": "JWT"}, None),
    "alg none with the secret's kid": lambda: hand_signed(
        {"alg": "none", "kid": "key-1"}, None
    ),
    "HS256 re-signed with the RSA public key as secret": lambda: hand_signed(
        {"alg": "HS256", "kid": "key-1", "typ": "JWT"}, PUBLIC_PEM
    ),
    "HS512 re-signed with the RSA public key as secret": lambda: hand_signed(
        {"alg": "HS512", "kid": "key-1", "typ": "JWT"}, PUBLIC_PEM
    ),
    "RS256 signed by an unknown key under a known kid": lambda: rs256(ATTACKER_KEY),
    "attacker's key embedded in the header": embedded_jwk,
    "jku pointing at the attacker's keys": lambda: rs256(
        ATTACKER_KEY, headers={"jku": "https://attacker.example.test/jwks.json"}
    ),
    "kid that is not a string": lambda: hand_signed({"alg": "RS256", "kid": 7}, b"x"),
    "wrong audience": lambda: hs256(aud="anon"),
    "audience list without ours": lambda: hs256(aud=["service_role", "anon"]),
    "no audience": lambda: hs256(aud=None),
    "no expiry": lambda: hs256(exp=None),
    "no subject": lambda: hs256(sub=None),
    "subject that is not a user id": lambda: hs256(sub="admin"),
    "issued by another project": lambda: hs256(
        iss="https://other.supabase.test/auth/v1"
    ),
    "service role": lambda: hs256(role="service_role"),
    "oversized (9 KiB)": lambda: hs256(pad="x" * 9 * 1024),
    "three empty segments": lambda: "..",
    "not base64": lambda: "%%%.%%%.%%%",
    "header that is not JSON": lambda: f"{_b64(b'[1,')}.{_b64(b'{}')}.",
}


@pytest.mark.parametrize("make_token", ATTACKS.values(), ids=ATTACKS.keys())
async def test_submit_attack_token_refused_with_json_401(
    producer: Any, identity: tuple[IdentityServer, str], make_token: Any
) -> None:
    """Each attack gets a JSON 401 and nothing is produced."""
    server, _ = identity

    async with producer() as client:
        response = await submit(client, make_token())

    assert_refused(response)
    assert server.produced == 0


async def test_submit_algorithm_not_matching_the_key_refused_with_json_401(
    producer: Any, identity: tuple[IdentityServer, str]
) -> None:
    """alg ES256 with the kid of the RSA key is refused, not a server error."""
    server, _ = identity
    token = hand_signed({"alg": "ES256", "kid": "key-1"}, b"x")

    async with producer() as client:
        response = await submit(client, token)

    assert_refused(response)
    assert server.produced == 0


@pytest.mark.parametrize(
    "make_token",
    [lambda: hs256(), lambda: rs256(), lambda: hs256(exp=int(time.time()) - 10)],
    ids=["HS256 secret", "RS256 from the JWKS", "expired within the leeway"],
)
async def test_submit_valid_token_queued(
    producer: Any, identity: tuple[IdentityServer, str], make_token: Any
) -> None:
    """The controls: genuine tokens of both kinds are accepted."""
    server, _ = identity

    async with producer() as client:
        response = await submit(client, make_token())

    assert response.status_code == 202
    assert server.produced == 1


async def test_submit_public_key_hmac_refused_when_only_jwks_configured(
    producer: Any,
) -> None:
    """Without an HS256 secret, an HS256 token keyed by the public key is refused."""
    token = hand_signed({"alg": "HS256", "kid": "key-1", "typ": "JWT"}, PUBLIC_PEM)

    async with producer(supabase_jwt_secret=None) as client:
        response = await submit(client, token)

    assert_refused(response)


async def test_submit_oversized_token_refused_without_fetching_keys(
    producer: Any, identity: tuple[IdentityServer, str]
) -> None:
    """A token over the size cap is refused before any key lookup."""
    server, _ = identity

    async with producer() as client:
        response = await submit(client, rs256(pad="x" * 9 * 1024))

    assert_refused(response)
    assert response.json()["message"] == "the token is too large"
    assert server.fetches == 0


async def test_jwks_fetched_once_for_many_requests(
    producer: Any, identity: tuple[IdentityServer, str]
) -> None:
    """Twenty RS256 searches cost one JWKS fetch."""
    server, _ = identity

    async with producer() as client:
        answers = [await submit(client, rs256()) for _ in range(20)]

    assert {answer.status_code for answer in answers} == {202}
    assert server.fetches == 1


async def test_jwks_unknown_kids_cause_at_most_one_fetch(
    producer: Any, identity: tuple[IdentityServer, str]
) -> None:
    """A flood of unknown key ids is refused without a fetch per request."""
    server, _ = identity

    async with producer() as client:
        answers = [await submit(client, rs256(kid=f"kid-{n}")) for n in range(20)]

    for answer in answers:
        assert_refused(answer)
    assert server.fetches == 1


async def test_jwks_refreshed_once_for_a_rotated_key(
    producer: Any,
    identity: tuple[IdentityServer, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A new key id triggers one refresh; known ids never fetch again."""
    server, _ = identity
    # The refresh throttle is time-based; lift it so the test needs no clock.
    monkeypatch.setattr("producer_app.auth.JWKS_REFRESH_INTERVAL", 0.0)

    async with producer() as client:
        before = [await submit(client, rs256()) for _ in range(3)]
        server.keys = [jwk(KEY, "key-1"), jwk(NEXT_KEY, "key-2")]
        after = [await submit(client, rs256(NEXT_KEY, kid="key-2")) for _ in range(3)]
        old = await submit(client, rs256())

    statuses = [answer.status_code for answer in [*before, *after, old]]
    assert statuses == [202] * 7
    assert server.fetches == 2


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, b"{}"), (200, b"<html>not json</html>"), (200, b'{"keys": "none"}')],
    ids=["JWKS answers 500", "JWKS not JSON", "JWKS keys not a list"],
)
async def test_submit_broken_jwks_never_accepts_and_never_500(
    producer: Any, identity: tuple[IdentityServer, str], status: int, body: bytes
) -> None:
    """A broken key endpoint refuses or defers RS256 tokens, with a JSON body."""
    server, _ = identity
    server.jwks_status, server.jwks_body = status, body

    async with producer() as client:
        response = await submit(client, rs256())

    assert response.status_code in (401, 503)
    assert set(response.json()) >= {"error", "message"}
    assert server.produced == 0


async def test_jwks_fetch_sends_no_confluent_credentials(
    producer: Any, identity: tuple[IdentityServer, str]
) -> None:
    """The JWKS request carries no Authorization header of another service."""
    server, _ = identity

    async with producer() as client:
        await submit(client, rs256())

    assert server.fetches == 1
    assert server.jwks_authorization == [""]
