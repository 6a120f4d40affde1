"""The one shape of a refusal that services raise and handlers turn into a localized answer."""

from __future__ import annotations


class Refusal(ValueError):
    """A request was refused: `code` names the reason, `params` fill its localized message."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params
