"""TLS as the crawl asks for it: which CAs to trust, whether to verify at all, HTTP/2's
package; and a certificate failure said as a user names it (expired, unknown issuer, ...).

It builds the ``ssl.SSLContext`` and checks the settings; connections are the transport's.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import ssl
from collections.abc import Mapping

import httpx

from crawler.errors import ConfigError
from crawler.fetch.proxies import ProxyRoutes
from crawler.settings import FetchSettings

log = logging.getLogger(__name__)

CA_ENV_NAMES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
"""Read, in this order, when ``ca_bundle`` is not set."""

# OpenSSL's X509_V_ERR_* codes, by what a user would call them.
_VERIFY_REASONS = {
    9: "not yet valid",
    10: "expired",
    2: "unknown issuer",
    18: "unknown issuer",  # self-signed
    19: "unknown issuer",  # self-signed CA in the chain
    20: "unknown issuer",
    21: "unknown issuer",
    23: "revoked",
    62: "wrong host",
    64: "wrong host",  # an IP address the certificate does not name
}


def ssl_context(
    settings: FetchSettings, environ: Mapping[str, str] | None = None
) -> ssl.SSLContext:
    """The context every TLS connection of the crawl uses.

    ``ca_bundle``, else ``SSL_CERT_FILE`` or ``REQUESTS_CA_BUNDLE``, else httpx's default
    (certifi's CAs); ``insecure`` verifies nothing, and says so once in the log.

    Raises:
        ConfigError: a CA file that cannot be read or holds no certificate; ``http2``
            without the h2 package.
    """
    if settings.http2 and importlib.util.find_spec("h2") is None:
        raise ConfigError("fetch.http2: HTTP/2 needs the h2 package: pip install 'parcrawl[http2]'")
    env = os.environ if environ is None else environ
    if settings.insecure:
        log.warning(
            "TLS certificates are not verified (fetch.insecure): anyone on the path may "
            "read or change the pages"
        )
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if settings.ca_bundle is not None:
        return _trusting(settings.ca_bundle, "fetch.ca_bundle")
    for name in CA_ENV_NAMES:
        if env.get(name):
            return _trusting(env[name], name)
    return httpx.create_ssl_context()


def _trusting(path: str, origin: str) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=path)
    except FileNotFoundError:
        raise ConfigError(f"{origin}: no such file: {path}") from None
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"{origin}: not a PEM file of certificates: {path} ({reason})") from None


def check_network(settings: FetchSettings) -> None:
    """What ``parcrawl check`` and ``run`` refuse before a fetch: the TLS and proxy settings.

    Raises:
        ConfigError: as ``ssl_context`` and ``ProxyRoutes.from_settings`` do.
    """
    ssl_context(settings.model_copy(update={"insecure": False}))
    ProxyRoutes.from_settings(settings)


def tls_reason(error: ssl.SSLError) -> str:
    """A certificate failure in a user's words: ``expired``, ``unknown issuer``, ``wrong
    host``, ... and OpenSSL's own message; any other TLS error as OpenSSL says it."""
    if isinstance(error, ssl.SSLCertVerificationError):
        detail = error.verify_message or error.reason or "verification failed"
        reason = _VERIFY_REASONS.get(error.verify_code)
        if reason is not None:
            return f"certificate {reason} ({detail})"
        return f"certificate not trusted ({detail})"
    return str(error.reason or error)
