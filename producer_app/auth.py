"""Verify the signed-in user's Supabase JWT locally.

Supabase signs access tokens with the project's legacy HS256 secret or with asymmetric
signing keys published as a JWKS. Both may be live during a key rotation, so the token's
own `alg` picks the key source, and only algorithms configured here are ever accepted.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any

import httpx
import jwt
from starlette.responses import Response

from jobsearch.errors import AuthenticationError, UpstreamError
from jobsearch.http import retry_later
from jobsearch.settings import Settings

logger = logging.getLogger("jobsearch.producer.auth")

AUDIENCE = "authenticated"
MAX_TOKEN_BYTES = 8 * 1024
ASYMMETRIC_ALGORITHMS = ("RS256", "ES256", "EdDSA")
# An unknown key id triggers at most one JWKS refresh per this many seconds; after a
# failed fetch the next try may come sooner, so an outage does not outlast itself.
JWKS_REFRESH_INTERVAL = 60.0
JWKS_RETRY_INTERVAL = 2.0
SERVICE = "supabase-auth"


class JwksCache:
    """The project's signing keys, fetched once and refreshed on an unknown key id."""

    def __init__(self, client: httpx.AsyncClient, url: str) -> None:
        self._client = client
        self._url = url
        self._keys: dict[str, jwt.PyJWK] = {}
        self._next_fetch = float("-inf")
        self._available = True
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def key(self, kid: str) -> jwt.PyJWK:
        """The key for `kid`.

        Raises `AuthenticationError` for an unknown key, and a retryable
        `UpstreamError` while the JWKS cannot be fetched.
        """
        if kid not in self._keys:
            await self._refresh()
        if kid in self._keys:
            return self._keys[kid]
        if not self._available:
            raise UpstreamError(SERVICE, "signing keys unavailable", retryable=True)
        raise AuthenticationError("the token's signing key is unknown")

    async def _refresh(self) -> None:
        async with self._lock:
            if time.monotonic() < self._next_fetch:
                return
            self.fetches += 1
            try:
                response = await self._client.get(self._url, timeout=5.0)
                response.raise_for_status()
                keys = jwt.PyJWKSet.from_dict(response.json()).keys
            except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
                logger.warning("jwks fetch failed: %s", type(exc).__name__)
                self._available = False
                self._next_fetch = time.monotonic() + JWKS_RETRY_INTERVAL
                return
            self._keys = {key.key_id: key for key in keys if key.key_id}
            self._available = True
            self._next_fetch = time.monotonic() + JWKS_REFRESH_INTERVAL


class TokenVerifier:
    """Turns an `Authorization` header into the user's id."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self._secret = settings.supabase_jwt_secret
        jwks_url = settings.supabase_jwks_url
        self._jwks = JwksCache(client, jwks_url) if jwks_url else None
        base = (settings.supabase_url or "").rstrip("/")
        self._issuer = f"{base}/auth/v1" if base else None

    async def user_id(self, authorization: str | None) -> uuid.UUID:
        """Verify the bearer token; raises `AuthenticationError` naming the problem."""
        token = _bearer_token(authorization)
        header = _unverified_header(token)
        key, algorithm = await self._key_for(header)
        claims = self._decode(token, key, algorithm)
        if claims.get("role") != "authenticated":
            raise AuthenticationError("the token is not a signed-in user's")
        try:
            return uuid.UUID(str(claims["sub"]))
        except ValueError:
            raise AuthenticationError("the token's subject is not a user id") from None

    async def _key_for(self, header: dict[str, Any]) -> tuple[Any, str]:
        algorithm = header.get("alg")
        if algorithm == "HS256" and self._secret is not None:
            return self._secret.get_secret_value(), algorithm
        if algorithm in ASYMMETRIC_ALGORITHMS and self._jwks is not None:
            kid = header.get("kid")
            if not isinstance(kid, str):
                raise AuthenticationError("the token names no signing key")
            return (await self._jwks.key(kid)).key, algorithm
        raise AuthenticationError("the token's algorithm is not accepted")

    def _decode(self, token: str, key: Any, algorithm: str) -> dict[str, Any]:
        options = {"require": ["exp", "sub", "aud"]}
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=AUDIENCE,
                issuer=self._issuer,
                options=options,  # type: ignore[arg-type]
                leeway=30,
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationError("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise AuthenticationError("the token is not for this audience") from None
        except jwt.InvalidIssuerError:
            raise AuthenticationError("the token was issued elsewhere") from None
        except (jwt.PyJWTError, TypeError, ValueError):
            # PyJWT raises TypeError when the alg does not fit the key's kind.
            raise AuthenticationError("the token is invalid") from None


def auth_unavailable(headers: Mapping[str, str] | None = None) -> Response:
    """The 503 for a `SERVICE` failure: users cannot be verified for now."""
    return retry_later(
        503,
        "auth_unavailable",
        "signed-in users cannot be verified right now; try again shortly",
        5,
        headers=headers,
    )


def _bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise AuthenticationError("an Authorization bearer token is required")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("the Authorization header must be a bearer token")
    if len(token) > MAX_TOKEN_BYTES:
        raise AuthenticationError("the token is too large")
    return token.strip()


def _unverified_header(token: str) -> dict[str, Any]:
    try:
        return jwt.get_unverified_header(token)
    except (jwt.PyJWTError, json.JSONDecodeError, UnicodeDecodeError):
        raise AuthenticationError("the token is malformed") from None
