"""Keys and cryptography of the anonymous concern reports.

One 32-byte master key, kept outside the database: `WGBOT_REPORT_KEY` (urlsafe base64), else the
file `WGBOT_REPORT_KEY_FILE`, else `<WGBOT_DATA_DIR>/report.key`, created with mode 0600 on first
use. Every other key is derived from it with HKDF and never stored:

- the content key (AES-256-GCM): report text, place, time, file ids, replies, notes;
- the receipt pepper: receipts are stored as Argon2id hashes salted with it, so a copy of the
  database alone cannot even be used to try receipt codes;
- the counter key of each day: anti-abuse counters hold HMAC(user id) under a key derived from
  the master key and the date, so a counter row cannot be tied to a Telegram user without the
  master key, and yesterday's rows cannot be tied to today's.

Each ciphertext starts with a version byte and a short key id, so data written under another key
is recognised and reported as such instead of failing obscurely.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

KEY_BYTES = 32
KEY_FILE_NAME = "report.key"
VERSION = 1
KEY_ID_BYTES = 4
NONCE_BYTES = 12
RECEIPT_DIGITS = 16


class ReportKeyError(Exception):
    """The report key cannot be loaded or created; the message says why in one line."""


class ReportUnreadable(Exception):
    """Data that cannot be decrypted: `wrong_key` when it was written under another key."""

    def __init__(self, wrong_key: bool) -> None:
        super().__init__("written under another key" if wrong_key else "damaged ciphertext")
        self.wrong_key = wrong_key


class ReportKeySettings(BaseSettings):
    """The report key's configuration, read from the environment (or `.env`)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    report_key: str | None = Field(default=None, validation_alias="WGBOT_REPORT_KEY")
    report_key_file: Path | None = Field(default=None, validation_alias="WGBOT_REPORT_KEY_FILE")
    data_dir: Path = Field(default=Path("data"), validation_alias="WGBOT_DATA_DIR")


def _decode_key(text: str, where: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise ReportKeyError(f"{where} is not valid base64") from None
    if len(key) != KEY_BYTES:
        raise ReportKeyError(f"{where} must hold {KEY_BYTES} bytes (urlsafe base64)")
    return key


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode("ascii")


def _read_or_create(path: Path) -> bytes:
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise ReportKeyError(f"cannot read the report key file {path}: {exc}") from None
        if mode & 0o007:  # whoever has an account on the machine could read every report
            raise ReportKeyError(f"the report key file {path} is open to every user of the "
                                 f"machine (mode {mode:04o}): chmod 600 it") from None
        if mode & 0o070:
            log.warning("the report key file %s is open to its group (mode %04o); 0600 is "
                        "safer", path, mode)
        return _decode_key(text, f"the report key file {path}")
    except OSError as exc:
        raise ReportKeyError(f"cannot create the report key file {path}: {exc.strerror}") \
            from None
    key = secrets.token_bytes(KEY_BYTES)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(encode_key(key) + "\n")
    log.warning("created a new report key in %s: keep a copy in a safe place; without it the "
                "reports cannot be read", path)
    return key


def load_master_key(settings: ReportKeySettings) -> bytes:
    if settings.report_key:
        return _decode_key(settings.report_key, "WGBOT_REPORT_KEY")
    path = settings.report_key_file or settings.data_dir / KEY_FILE_NAME
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportKeyError(f"cannot create the folder of {path}: {exc.strerror}") from None
    return _read_or_create(path)


def _derive(master: bytes, info: bytes, length: int = KEY_BYTES) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(master)


@dataclass(frozen=True)
class ReportCipher:
    """Authenticated encryption of report content, receipt hashing and counter hashing."""

    master: bytes

    @property
    def key_id(self) -> bytes:
        return _derive(self.master, b"wgbot report key id", KEY_ID_BYTES)

    @property
    def key_id_hex(self) -> str:
        return self.key_id.hex()

    def _aead(self) -> AESGCM:
        return AESGCM(_derive(self.master, b"wgbot report content"))

    def encrypt(self, value: object, purpose: str) -> bytes:
        """Encrypt a JSON-serialisable value; `purpose` is bound as associated data."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        plain = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        sealed = self._aead().encrypt(nonce, plain, purpose.encode("ascii"))
        return bytes([VERSION]) + self.key_id + nonce + sealed

    def decrypt(self, blob: bytes, purpose: str) -> object:
        blob = bytes(blob)
        head = 1 + KEY_ID_BYTES
        if len(blob) < head + NONCE_BYTES or blob[0] != VERSION:
            raise ReportUnreadable(wrong_key=False)
        if blob[1:head] != self.key_id:
            raise ReportUnreadable(wrong_key=True)
        nonce, sealed = blob[head:head + NONCE_BYTES], blob[head + NONCE_BYTES:]
        try:
            plain = self._aead().decrypt(nonce, sealed, purpose.encode("ascii"))
        except InvalidTag:
            raise ReportUnreadable(wrong_key=False) from None
        return json.loads(plain.decode("utf-8"))

    def receipt_hash(self, receipt: str) -> str:
        """A slow Argon2id hash of the receipt digits, peppered with a key-derived salt."""
        pepper = _derive(self.master, b"wgbot receipt pepper", 16)
        raw = hash_secret_raw(
            receipt.encode("ascii"), pepper, time_cost=2, memory_cost=19 * 1024,
            parallelism=1, hash_len=32, type=Type.ID,
        )
        return raw.hex()


def new_receipt() -> str:
    return f"{secrets.randbelow(10 ** RECEIPT_DIGITS):0{RECEIPT_DIGITS}d}"


def format_receipt(receipt: str) -> str:
    return " ".join(receipt[i:i + 4] for i in range(0, RECEIPT_DIGITS, 4))


def parse_receipt(text: str) -> str | None:
    """The 16 digits of a receipt typed with or without spaces or dashes; None if malformed."""
    digits = "".join(ch for ch in text if ch not in " -\u00a0")
    if len(digits) != RECEIPT_DIGITS or not digits.isascii() or not digits.isdigit():
        return None
    return digits


_cache: dict[tuple[str | None, str], ReportCipher] = {}
_default_dir: list[Path] = []
_env_settings: list[ReportKeySettings] = []  # the environment, read by the first get_cipher


def key_configured(data_dir: Path) -> bool:
    """Whether a key is given (WGBOT_REPORT_KEY, or an existing key file) rather than about to be
    created: replicas must share one key, so they must not each create their own."""
    settings = ReportKeySettings()
    if settings.report_key:
        return True
    return (settings.report_key_file or Path(data_dir) / KEY_FILE_NAME).exists()


def new_key() -> str:
    """A fresh key in the form WGBOT_REPORT_KEY expects."""
    return encode_key(secrets.token_bytes(KEY_BYTES))


def get_cipher(data_dir: Path | None = None) -> ReportCipher:
    """The cipher for the configured key (cached); raises ReportKeyError when unusable.

    `data_dir` is the bot's data folder (Settings.data_dir); without it, the last one given is
    used (code without the settings at hand: outbox renderers), else WGBOT_DATA_DIR. The
    environment is read once (each report update asks: reading it cost about 1 ms); after
    `clear_cache` it is read again."""
    if not _env_settings:
        _env_settings.append(ReportKeySettings())
    settings = _env_settings[0]
    if data_dir is not None:
        _default_dir[:] = [Path(data_dir)]
    if _default_dir:
        settings = settings.model_copy(update={"data_dir": _default_dir[0]})
    where = str(settings.report_key_file or settings.data_dir / KEY_FILE_NAME)
    cache_key = (settings.report_key, where)
    if cache_key not in _cache:
        _cache[cache_key] = ReportCipher(load_master_key(settings))
    return _cache[cache_key]


def clear_cache() -> None:
    _cache.clear()
    _default_dir.clear()
    _env_settings.clear()
