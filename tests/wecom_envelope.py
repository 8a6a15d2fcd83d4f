"""WeCom's callback envelope as the platform makes it, written from its published
rules and not with the adapter's library, so the two sides check each other:
AES-256-CBC with key = b64decode(EncodingAESKey + "="), IV = key[:16], PKCS#7 to 32
bytes over 16 random bytes + a 4-byte length + the XML + the corp id; signature =
sha1 of the sorted token, timestamp, nonce and ciphertext."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import struct
import time
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

CORP_ID = "ww_test_corp"
TOKEN = "callbacktoken"
AES_KEY = base64.b64encode(b"k" * 32).decode().rstrip("=")  # 43 characters

Json = dict[str, Any]


def seal(
    plain_xml: str, *, token: str = TOKEN, corp_id: str = CORP_ID
) -> tuple[str, str, str, str]:
    """(ciphertext, signature, timestamp, nonce) of ``plain_xml`` as WeCom sends it."""
    key = base64.b64decode(AES_KEY + "=")
    body = plain_xml.encode()
    plain = os.urandom(16) + struct.pack(">I", len(body)) + body + corp_id.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    cipher = base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()
    timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
    signature = hashlib.sha1(
        "".join(sorted([token, timestamp, nonce, cipher])).encode()
    ).hexdigest()
    return cipher, signature, timestamp, nonce


def to_xml(fields: Json) -> str:
    parts = []
    for name, value in fields.items():
        text = str(value)
        parts.append(
            f"<{name}>{text if isinstance(value, int) else '<![CDATA[' + text + ']]>'}</{name}>"
        )
    return "<xml>" + "".join(parts) + "</xml>"
