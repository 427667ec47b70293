"""HTTP client for the internal billing API.

Credentials come from the environment or the OS keyring; nothing secret lives in this file.
"""
from __future__ import annotations

import os
import time
import logging
from dataclasses import dataclass, field
from typing import Optional

import requests

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
TOKEN_REFRESH_MARGIN = 60  # seconds before expiry


@dataclass
class Credentials:
    client_id: str
    client_secret: str = field(repr=False)
    token_url: str = "https://auth.internal/oauth/token"


@dataclass
class Token:
    access_token: str = field(repr=False)
    expires_at: float
    token_type: str = "Bearer"

    def expired(self) -> bool:
        return time.time() > self.expires_at - TOKEN_REFRESH_MARGIN


def load_credentials() -> Credentials:
    client_id = os.environ["BILLING_CLIENT_ID"]
    client_secret = os.environ["BILLING_CLIENT_SECRET"]
    return Credentials(client_id=client_id, client_secret=client_secret)


class BillingClient:
    def __init__(self, creds: Credentials, base_url: str = "https://billing.internal/api/v2"):
        self.creds = creds
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self._token: Optional[Token] = None

    def _fetch_token(self) -> Token:
        resp = self.session.post(
            self.creds.token_url,
            data={"grant_type": "client_credentials", "scope": "billing:read billing:write"},
            auth=(self.creds.client_id, self.creds.client_secret),
            timeout=DEFAULT_TIMEOUT,
        )
        resp.raise_for_status()
        body = resp.json()
        token = Token(access_token=body["access_token"], expires_at=time.time() + body["expires_in"])
        log.info("token refreshed, expires in %ss", body["expires_in"])
        return token

    @property
    def token(self) -> Token:
        if self._token is None or self._token.expired():
            self._token = self._fetch_token()
        return self._token

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"{self.token.token_type} {self.token.access_token}", "Accept": "application/json"}

    def invoices(self, customer_id: str, page: int = 1) -> list[dict]:
        url = f"{self.base_url}/customers/{customer_id}/invoices?page={page}"
        resp = self.session.get(url, headers=self._headers(), timeout=DEFAULT_TIMEOUT)
        if resp.status_code == 401:
            # The token may have been revoked server-side; refresh once.
            self._token = None
            resp = self.session.get(url, headers=self._headers(), timeout=DEFAULT_TIMEOUT)
        resp.raise_for_status()
        return resp.json()["data"]


def check_password_strength(password: str) -> list[str]:
    problems = []
    if len(password) < 12:
        problems.append("password must have at least 12 characters")
    if password.lower() == password:
        problems.append("password needs an upper-case letter")
    if not any(c.isdigit() for c in password):
        problems.append("password needs a digit")
    return problems


def hash_token(token: str) -> str:
    import hashlib

    return hashlib.sha256(token.encode()).hexdigest()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    client = BillingClient(load_credentials())
    for invoice in client.invoices("cus_123"):
        print(invoice["id"], invoice["total"], invoice["currency"])
