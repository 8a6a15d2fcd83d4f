"""The callback envelope: signature check and AES decryption of WeCom callbacks.

WeCom signs every callback with sha1(sorted(token, timestamp, nonce, encrypted))
and encrypts the XML with AES-256-CBC under the app's EncodingAESKey. The
cipher work is wechatpy's (a maintained implementation); this module only
adapts its exceptions to one :class:`CallbackRejected` and its parsed output
to plain dicts, so the rest of the adapter never imports wechatpy.
"""

from __future__ import annotations

import binascii
from typing import Any

import xmltodict
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

from bot.adapters.wecom.config import check_aes_key

#: longest callback body we read (WeCom's envelopes are a few KiB)
MAX_BODY = 64 * 1024


class CallbackRejected(Exception):
    """A callback that is not from our corp: wrong signature, corp id or body."""


class CallbackCrypto:
    """Verifies and opens the callbacks of one WeCom app."""

    def __init__(self, token: str, encoding_aes_key: str, corp_id: str) -> None:
        problem = check_aes_key(encoding_aes_key)
        if problem:
            raise ValueError(f"EncodingAESKey {problem}")
        self._crypto = WeChatCrypto(token, encoding_aes_key, corp_id)

    def verify_url(self, signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """The decrypted ``echostr`` WeCom expects back when the URL is saved."""
        try:
            return str(self._crypto.check_signature(signature, timestamp, nonce, echostr))
        except (InvalidSignatureException, InvalidCorpIdException) as exc:
            raise CallbackRejected(type(exc).__name__) from exc
        except (ValueError, TypeError, binascii.Error) as exc:
            raise CallbackRejected(f"undecodable echostr: {exc}") from exc

    def open(self, body: bytes, signature: str, timestamp: str, nonce: str) -> dict[str, Any]:
        """The callback's inner XML as a flat dict (``{"MsgType": …, …}``)."""
        if len(body) > MAX_BODY:
            raise CallbackRejected(f"body of {len(body)} bytes is over {MAX_BODY}")
        try:
            plain = self._crypto.decrypt_message(body, signature, timestamp, nonce)
        except (InvalidSignatureException, InvalidCorpIdException) as exc:
            raise CallbackRejected(type(exc).__name__) from exc
        except Exception as exc:  # malformed XML, bad base64, bad padding: all "not ours"
            raise CallbackRejected(f"unreadable envelope: {type(exc).__name__}") from exc
        return parse_xml(plain)


def parse_xml(text: str | bytes) -> dict[str, Any]:
    """The children of ``<xml>`` as a dict; nested elements stay dicts."""
    try:
        doc = xmltodict.parse(text, disable_entities=True)
    except Exception as exc:
        raise CallbackRejected(f"malformed XML: {type(exc).__name__}") from exc
    root = doc.get("xml") if isinstance(doc, dict) else None
    if not isinstance(root, dict):
        raise CallbackRejected("no <xml> root")
    return dict(root)
