"""A module's section of the genesis document, and the strict JSON every part of the document is read by.

The genesis document (FORMAT.md §14) is one JSON object: the core's keys
(genesis/document.py) and, under each module's name, that module's section.
A module declares its section as a subclass of `GenesisSection` on its
`Module` (`genesis=`, ledger/rules.py): the section parses and checks its JSON
object, gives its canonical form (part of the genesis hash) and writes its
part of the state at height 0. genesis/document.py composes the sections in
module order; it knows no module's fields.

The one set of JSON rules, so that two auditors reading the one file agree on
whether it is valid and on its hash (FORMAT.md §14, "The JSON rules"):

- strict types: an integer is a JSON integer (never `true`, `10000.0` or
  `"10000"`), a text a JSON string, a list a JSON array, an object a JSON
  object;
- every key is specified: an unknown key, at any level, is refused;
- `null` is a value only where a field says "or null"; elsewhere it is
  refused (leave an optional key out to get its default);
- names count UTF-8 bytes, never characters;
- an address is parsed by FORMAT.md §5 (surrounding white space stripped)
  and compared as the key it denotes; the document keeps its canonical text.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict

from ledger.address import WHITE_SPACE, AddressError, from_address
from ledger.state import Overlay

MAX_NAME_BYTES = 64
"""Every name in the genesis document (validators, observers, issuers, registrars, attesters, classes)."""


class StrictObject(BaseModel):
    """A JSON object of the genesis document: strict types, no unknown key, read-only once parsed."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class GenesisSection(StrictObject):
    """A module's section: the JSON object under its name (FORMAT.md §14). Absent means every field's default.

    Subclasses declare their fields (with the types below) and checks
    (pydantic validators raising ValueError with a message that names the
    field), and implement the three methods.
    """

    def canonical(self) -> tuple:
        """The section's part of the canonical genesis (in the genesis hash): arrays in document order."""
        raise NotImplementedError

    def write(self, state: Overlay) -> None:
        """Write the module's records of height 0, with the same record functions its transactions use."""
        raise NotImplementedError

    def known_keys(self) -> tuple[bytes, ...]:
        """The accounts this section gives a role: known from height 0 (`acct/` = [0]) so that they may sign."""
        return ()


def _address(value: str) -> str:
    try:
        from_address(value)  # also checks that the stripped text is the key's canonical address
    except AddressError as exc:
        raise ValueError(str(exc)) from None
    return value.strip(WHITE_SPACE)


Address = Annotated[str, AfterValidator(_address)]
"""An address (FORMAT.md §5): stripped of surrounding white space, checked, kept in canonical text."""


def utf8_text(least: int, most: int) -> Any:
    """A JSON string of `least` to `most` UTF-8 bytes."""

    def check(value: str) -> str:
        size = len(value.encode("utf-8"))
        if not least <= size <= most:
            raise ValueError(f"must be {least} to {most} bytes of UTF-8 text, not {size}")
        return value

    return Annotated[str, AfterValidator(check)]


Name = utf8_text(1, MAX_NAME_BYTES)


def key(address: str) -> bytes:
    """The public key of an address already checked by `Address`."""
    return from_address(address)


class Member(StrictObject):
    """A named account given a role at genesis: `{"name", "account"}` (an issuer, a registrar)."""

    name: Name
    account: Address


def no_account_twice(role: str, members: list) -> None:
    """Each account at most once in one role's list (compared as keys: the texts are canonical)."""
    seen: set[str] = set()
    for member in members:
        if member.account in seen:
            raise ValueError(f"{role} {member.account} appears twice")
        seen.add(member.account)
