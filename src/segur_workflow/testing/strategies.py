"""Hypothesis strategies for segur_workflow values, commands and dossiers.

Requires the ``testing`` extra (``pip install 'segur-workflow[testing]'``): this module imports
hypothesis. Every function returns a strategy, like hypothesis' own ``st.*``.

Identifiers are *computed*, never picked from a list: a SIRET gets its Luhn digits, a French IBAN
its RIB key and its ISO 13616 check digits, a BIC the ISO 9362 shape. Dossiers are reached by
random legal paths through :data:`segur_workflow.states.DOSSIER`.
"""

from __future__ import annotations

import enum
import functools
import operator
import string
import typing
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from .. import examples
from ..commands import Command, DeposerAvance
from ..engine import DOSSIER_BINDING, handle, start
from ..model import SAS, Actor, Attachment, CoordonneesBancaires, Corridor, Dossier, Fournisseur
from ..rules import FRENCH_ZONE, MAX_CONTACT, MAX_TEXT, WINDOWS_DEVICES
from ..states import DOSSIER, Status, TransitionSpec
from ..vocabulary import Phase, PieceKind, Role
from .paths import reaching, shortest_path_between

#: The dossier's command classes, by trigger (from its binding).
COMMANDS = DOSSIER_BINDING.commands

__all__ = [
    "actors",
    "attachments",
    "bics",
    "commands",
    "contacts",
    "coordonnees_bancaires",
    "dossiers",
    "fournisseurs",
    "hostile_attachments",
    "hostile_filenames",
    "hostile_texts",
    "ibans",
    "instants",
    "invalid_bics",
    "invalid_ibans",
    "invalid_sirets",
    "numeros",
    "pieces",
    "sirets",
    "texts",
]

_F = typing.TypeVar("_F", bound=typing.Callable[..., Any])


def _memo(factory: _F) -> _F:
    """Return the same strategy object for the same arguments: hypothesis validates and caches
    per strategy object, so rebuilding strategies inside draws would dominate the run time.
    Unhashable arguments (a ``Corridor``, a ``Dossier``) are keyed by identity and kept alive."""
    cache: dict[tuple[Any, ...], tuple[Any, Any]] = {}

    def key_of(value: Any) -> Any:
        try:
            hash(value)
        except TypeError:
            return ("id", id(value))
        return value

    @functools.wraps(factory)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = (tuple(key_of(a) for a in args), tuple(sorted((k, key_of(v)) for k, v in kwargs.items())))
        hit = cache.get(key)
        if hit is None:
            hit = cache[key] = (factory(*args, **kwargs), (args, kwargs))
        return hit[0]

    return typing.cast(_F, wrapper)


def _require(ok: bool, call: str, expected: str, value: object) -> None:
    """Refuse a bad strategy argument as hypothesis does its own: with ``InvalidArgument``."""
    if not ok:
        raise InvalidArgument(f"{call} : {expected} attendu, reçu {value!r}")


def _require_bool(call: str, **flags: object) -> None:
    for name, value in flags.items():
        _require(isinstance(value, bool), f"{call}({name}=…)", "True ou False", value)


def _require_corridor(call: str, corridor: object) -> None:
    _require(isinstance(corridor, Corridor), f"{call}(corridor=…)", "un Corridor (ex. SAS)", corridor)


def _enum_member(enum_cls: type[enum.Enum], call: str, value: object) -> Any:
    try:
        return enum_cls(value)
    except ValueError:
        choices = ", ".join(str(m.value) for m in enum_cls)
        raise InvalidArgument(f"{call} : une valeur parmi {choices} attendue, reçu {value!r}") from None


_DIGITS = string.digits
_UPPER = string.ascii_uppercase
_ALNUM = _DIGITS + _UPPER


# -- identifiers --------------------------------------------------------------------------------------------
def _luhn_check_digit(payload: str) -> str:
    """The digit that makes ``payload + digit`` pass the Luhn test."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:  # these positions are doubled once the check digit is appended
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


@_memo
def sirets() -> st.SearchStrategy[str]:
    """Valid SIRET numbers: a Luhn-valid SIREN followed by a NIC making the 14 digits Luhn-valid."""
    def build(siren8: str, nic4: str) -> str:
        siren = siren8 + _luhn_check_digit(siren8)
        head = siren + nic4
        return head + _luhn_check_digit(head)

    return st.builds(build, st.text(_DIGITS, min_size=8, max_size=8), st.text(_DIGITS, min_size=4, max_size=4)).filter(
        lambda s: not s.startswith("356000000")  # La Poste's SIREN follows another checksum rule
    )


@_memo
def invalid_sirets() -> st.SearchStrategy[str]:
    """SIRET-looking strings that are not valid: a wrong check digit, a wrong length, letters, blank."""
    wrong_digit = st.builds(lambda s, d: s[:-1] + str((int(s[-1]) + d) % 10), sirets(), st.integers(1, 9))
    return st.one_of(
        wrong_digit,
        st.text(_DIGITS, min_size=0, max_size=13),
        st.text(_DIGITS, min_size=15, max_size=20),
        st.builds(lambda s, c: s[:5] + c + s[6:], sirets(), st.sampled_from(_UPPER)),
        st.sampled_from(["", " ", "39431067600017 x"]),
    )


_RIB_LETTERS = {c: str(v) for v, letters in enumerate(("AJ", "BKS", "CLT", "DMU", "ENV", "FOW", "GPX", "HQY", "IRZ"), 1)
                for c in letters}


def rib_key(banque: str, guichet: str, compte: str) -> str:
    """The French RIB key: 97 - (89·banque + 15·guichet + 3·compte) mod 97, letters mapped to digits."""
    compte_num = "".join(_RIB_LETTERS.get(c, c) for c in compte.upper())
    return f"{97 - (89 * int(banque) + 15 * int(guichet) + 3 * int(compte_num)) % 97:02d}"


def iban_check_digits(country: str, bban: str) -> str:
    """ISO 13616 check digits: 98 - (BBAN + country + "00", letters as 10..35) mod 97."""
    rearranged = bban + country + "00"
    as_number = "".join(str(int(c, 36)) for c in rearranged)
    return f"{98 - int(as_number) % 97:02d}"


@_memo
def ibans(country: str = "FR") -> st.SearchStrategy[str]:
    """Valid French-format IBANs (``FR`` or ``MC``): bank, branch, account, RIB key, check digits."""
    if country not in ("FR", "MC"):
        raise InvalidArgument(f"ibans(country={country!r}) : seuls les IBAN au format français (FR, MC) sont générés")

    def build(banque: str, guichet: str, compte: str) -> str:
        bban = banque + guichet + compte + rib_key(banque, guichet, compte)
        return country + iban_check_digits(country, bban) + bban

    return st.builds(
        build,
        st.text(_DIGITS, min_size=5, max_size=5),
        st.text(_DIGITS, min_size=5, max_size=5),
        st.text(_ALNUM, min_size=11, max_size=11),
    )


@_memo
def invalid_ibans() -> st.SearchStrategy[str]:
    """IBAN-looking strings that are not valid: altered check digits; a wrong RIB key under right check
    digits (``00`` included, e.g. ``FR7600000000000000000000000`` whose key should be ``97``); truncated;
    junk."""
    def bump(iban: str, pos: int, d: int) -> str:
        return iban[:pos] + str((int(iban[pos]) + d) % 10) + iban[pos + 1:]

    def wrong_rib_key(iban: str, key: int) -> str:
        # only the RIB key is wrong: the ISO 13616 check digits are recomputed over the altered BBAN
        country, bban = iban[:2], iban[4:]
        right = int(bban[-2:])
        altered = bban[:-2] + f"{key if key != right else (right % 97) + 1:02d}"
        return country + iban_check_digits(country, altered) + altered

    def key_00(banque: str, guichet: str, compte: str) -> str:
        # the key 00 where the right one is 97: "00" is no RIB key (they run from 01 to 97)
        bban = banque + guichet + compte + "00"
        return "FR" + iban_check_digits("FR", bban) + bban

    return st.one_of(
        st.builds(lambda i, d: bump(i, 2, d), ibans(), st.integers(1, 9)),  # check digits
        st.builds(lambda i, d: bump(i, len(i) - 1, d), ibans(), st.integers(1, 9)),  # RIB key and check digits
        st.builds(wrong_rib_key, ibans(), st.integers(0, 99)),
        st.builds(key_00, st.text(_DIGITS, min_size=5, max_size=5), st.text(_DIGITS, min_size=5, max_size=5),
                  st.text(_ALNUM, min_size=11, max_size=11)),
        st.just("FR7600000000000000000000000"),
        st.builds(lambda i, n: i[:-n], ibans(), st.integers(1, 10)),
        # any text an IBAN field can hold (identifiers refuse control and bidi characters at construction)
        st.text(st.characters(exclude_categories=("Cc", "Cf", "Cs")), max_size=40).filter(
            lambda s: not s.strip().upper().startswith("FR")),
    )


@_memo
def bics(country: str | None = None) -> st.SearchStrategy[str]:
    """ISO 9362 BICs: 4 letters, a country, 2 location characters, an optional 3-character branch.

    Without ``country``, a country of the French zone (:data:`segur_workflow.rules.FRENCH_ZONE`), so
    that the BIC agrees with the IBANs of :func:`ibans`."""
    _require(country is None or (isinstance(country, str) and len(country) == 2 and country.isascii()
                                 and country.isupper()), "bics(country=…)", "un code pays ISO en 2 majuscules",
             country)
    countries = st.just(country) if country else st.sampled_from(sorted(FRENCH_ZONE))
    return st.builds(
        lambda bank, cc, loc, branch: bank + cc + loc + branch,
        st.text(_UPPER, min_size=4, max_size=4),
        countries,
        st.text(_ALNUM, min_size=2, max_size=2),
        st.one_of(st.just(""), st.text(_ALNUM, min_size=3, max_size=3)),
    )


@_memo
def invalid_bics() -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda b, n: b[:n], bics(), st.integers(0, 7)),
        st.builds(lambda b: b + "X", bics().filter(lambda b: len(b) == 11)),
        st.builds(lambda b, d: d + b[1:], bics(), st.sampled_from(_DIGITS)),  # digit in the bank code
        st.builds(lambda b: b[:4] + "ZZ" + b[6:], bics()),  # no such country
    )


@_memo
def numeros(corridor: Corridor = SAS) -> st.SearchStrategy[str]:
    """Dossier numbers of the corridor: its prefix and six digits (``FINSAS009250``)."""
    _require_corridor("numeros", corridor)
    return st.builds(lambda n: f"{corridor.prefixe_numero}{n:06d}", st.integers(0, 999_999))


_VISIBLE = st.sampled_from("AZaz09éÉçàü<&'\"{%$€")
# No lone surrogates (they are not text) and no control characters but tab and line feed: commands
# refuse the others at construction (docs/delivery.md, "What the boundary refuses").
_TEXT_CHARS = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")) | st.sampled_from("\n\t")


# -- texts ------------------------------------------------------------------------------------------------------
@_memo
def texts(*, valid: bool = True, max_size: int = 80) -> st.SearchStrategy[str]:
    """Free texts (motif, commentaire, contact). ``valid``: non-blank, within the length limit, any
    printable Unicode (HTML and quotes included). Invalid: blank or over the limit."""
    _require_bool("texts", valid=valid)
    _require(isinstance(max_size, int) and not isinstance(max_size, bool) and 1 <= max_size <= MAX_TEXT,
             "texts(max_size=…)", f"un entier de 1 à {MAX_TEXT}", max_size)
    if valid:
        # a visible first character instead of a filter: filtering blank texts out costs many draws
        return st.builds(operator.add, _VISIBLE, st.text(_TEXT_CHARS, max_size=max_size - 1))
    return st.one_of(
        st.sampled_from(["", " ", "\n\t", "\u00a0", "\u2003"]),
        st.builds(lambda c, extra: c * (MAX_TEXT + extra), st.sampled_from("ax<"), st.integers(1, 50)),
    )


@_memo
def hostile_texts() -> st.SearchStrategy[str]:
    """Texts that are legal input but dangerous downstream: markup, template syntax, controls,
    bidirectional overrides, lone surrogates. The library must refuse or carry them unharmed."""
    return st.one_of(
        st.sampled_from([
            "<script>alert(1)</script>", "{{ 7*7 }}", "{% raw %}", "'; DROP TABLE dossier; --",
            "\u202egpj.exe", "a\x00b", "\r\nBcc: x@example.org", "😀" * 5, "\ud800",
        ]),
        st.text(min_size=1, max_size=50),
    )


@_memo
def contacts(*, valid: bool = True) -> st.SearchStrategy[str]:
    """Support contacts (``contact_support``). Valid: an e-mail address, a French phone number or an
    http(s) link, alone or in a short sentence. Invalid: blank, too long, no way to reach anyone, or a
    script link."""
    _require_bool("contacts", valid=valid)
    phone = st.builds(lambda d, n: f"0{d} " + " ".join(f"{x:02d}" for x in n), st.integers(1, 9),
                      st.lists(st.integers(0, 99), min_size=4, max_size=4))
    url = st.builds(lambda host, path: f"https://{host}.example.fr/{path}",
                    st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True), st.text(string.ascii_lowercase, max_size=8))
    means = st.one_of(emails(), phone, url)
    if valid:
        return st.builds(lambda before, how: (before + " " + how).strip(),
                         st.sampled_from(["", "Support :", "Contact support", "Hotline — "]), means)
    return st.one_of(
        texts(valid=False),
        st.sampled_from(["Appelez-nous", "support", "javascript:alert(1) support@x.example",
                         "data:text/html,<script>alert(1)</script>"]),
        st.builds(lambda m: m + " " + "x" * MAX_CONTACT, means),
    )


# -- values -----------------------------------------------------------------------------------------------------
_ANS_IDS = st.builds(lambda n, s: f"tnd{s}{n:04d}", st.integers(0, 9999), st.sampled_from(["SAS", "sas", "SASX"]))
_NAMES = st.builds(operator.add, _VISIBLE, st.text(st.characters(codec="utf-8", categories=("L", "N", "Zs", "P")),
                                                  max_size=39))


@_memo
def emails() -> st.SearchStrategy[str]:
    # what email-validator accepts: no leading, trailing or doubled dot; no label ending with "-" or with
    # "--" in 3rd-4th place (reserved for IDNA)
    return st.builds(lambda u, d: f"{u}@{d}.example", st.from_regex(r"[a-z][a-z0-9]{0,7}(\.[a-z0-9]{1,7})?",
                                                                    fullmatch=True),
                     st.from_regex(r"[a-z]([a-z0-9]{0,7}(-[a-z0-9]{1,7})?)?", fullmatch=True))


@_memo
def fournisseurs(*, valid: bool = True, ans_id: str | None = None) -> st.SearchStrategy[Fournisseur]:
    """Providers. Valid: enrolled, referenced, a valid SIRET. Invalid: at least one of those broken."""
    _require_bool("fournisseurs", valid=valid)
    _require(ans_id is None or (isinstance(ans_id, str) and bool(ans_id.strip())), "fournisseurs(ans_id=…)",
             "un identifiant ANS non vide ou None", ans_id)
    ids = st.just(ans_id) if ans_id is not None else _ANS_IDS
    base = st.builds(Fournisseur, ans_id=ids, siret=sirets(), raison_sociale=_NAMES, adresse=_NAMES, email=emails(),
                     enrole=st.just(True), reference=st.just(True))
    if valid:
        return base

    @st.composite
    def broken(draw: st.DrawFn) -> Fournisseur:
        f = draw(base)
        flaws = draw(_FOURNISSEUR_FLAWS)
        changes: dict[str, Any] = {}
        if "siret" in flaws:
            changes["siret"] = draw(invalid_sirets())
        if "enrole" in flaws:
            changes["enrole"] = False
        if "reference" in flaws:
            changes["reference"] = False
        return attrs.evolve(f, **changes)

    return broken()


@_memo
def coordonnees_bancaires(*, valid: bool = True) -> st.SearchStrategy[CoordonneesBancaires]:
    """Bank details; invalid ones have a bad IBAN, a bad BIC or both."""
    _require_bool("coordonnees_bancaires", valid=valid)
    if valid:
        return st.builds(CoordonneesBancaires, iban=ibans(), bic=bics(), titulaire=_NAMES, domiciliation=_NAMES)
    return st.one_of(
        st.builds(CoordonneesBancaires, iban=invalid_ibans(), bic=bics(), titulaire=_NAMES, domiciliation=_NAMES),
        st.builds(CoordonneesBancaires, iban=ibans(), bic=invalid_bics(), titulaire=_NAMES, domiciliation=_NAMES),
        st.builds(CoordonneesBancaires, iban=invalid_ibans(), bic=invalid_bics(), titulaire=_NAMES,
                  domiciliation=_NAMES),
        # a valid BIC of another country than the IBAN's
        st.builds(CoordonneesBancaires, iban=ibans(), bic=bics("DE") | bics("BE") | bics("ES"), titulaire=_NAMES,
                  domiciliation=_NAMES),
    )


@_memo
def actors(role: Role | None = None) -> st.SearchStrategy[Actor]:
    """Actors of ``role`` (any role if ``None``) with a plausible id."""
    role = None if role is None else _enum_member(Role, "actors(role=…)", role)
    roles = st.just(role) if role is not None else st.sampled_from(Role)
    return st.builds(Actor, roles, st.from_regex(r"[a-zA-Z][a-zA-Z0-9._-]{0,20}", fullmatch=True))


@_memo
def instants(*, min_value: datetime = datetime(2023, 1, 1), max_value: datetime = datetime(2030, 1, 1)
             ) -> st.SearchStrategy[datetime]:
    """Aware datetimes in UTC or any fixed offset (the engine must not care which); the bounds are naive."""
    for name, bound in (("min_value", min_value), ("max_value", max_value)):
        _require(isinstance(bound, datetime) and bound.tzinfo is None, f"instants({name}=…)",
                 "une datetime naïve (les fuseaux sont tirés par la stratégie)", bound)
    _require(min_value <= max_value, "instants(min_value=…, max_value=…)", "min_value <= max_value",
             (min_value, max_value))
    offsets = st.one_of(st.just(UTC), st.builds(lambda m: timezone(timedelta(minutes=m)), st.integers(-14 * 60,
                                                                                                     14 * 60)))
    return st.datetimes(min_value=min_value, max_value=max_value, timezones=offsets)


# -- attachments ------------------------------------------------------------------------------------------------------
# A stem ends with a letter or digit (a space before the extension is refused) and is no Windows device
# name (CON, NUL, COM1…: refused whatever the extension).
_STEMS = st.builds(operator.add, st.sampled_from(string.ascii_letters + _DIGITS),
                   st.text(string.ascii_letters + _DIGITS + " _-éè", max_size=24)).filter(
    lambda stem: not stem.endswith(" ") and stem.upper() not in WINDOWS_DEVICES)


_ATTACHMENT_SOURCES: dict[str, tuple[st.SearchStrategy[str], st.SearchStrategy[bytes]]] = {
    "pdf": (st.sampled_from([".pdf", ".PDF", ".Pdf"]),
            st.builds(examples.pdf_bytes, st.text(string.ascii_letters + _DIGITS + " éèàç-", max_size=20))),
    "png": (st.sampled_from([".png", ".PNG"]),
            st.builds(examples.png_bytes, st.integers(1, 40), st.integers(1, 40))),
    "jpeg": (st.sampled_from([".jpg", ".jpeg", ".JPG"]),
             # real JPEGs (Pillow encodes them), since the inspection decodes every image
             st.builds(examples.jpeg_bytes, st.integers(1, 40), st.integers(1, 40), st.integers(0, 255))),
}


@st.composite
def _attachment(draw: st.DrawFn, kinds: tuple[str, ...]) -> Attachment:
    extensions, contents = _ATTACHMENT_SOURCES[draw(st.sampled_from(kinds))]
    return Attachment.from_bytes(draw(_STEMS) + draw(extensions), draw(contents))


@_memo
def attachments(media: str | None = None) -> st.SearchStrategy[Attachment]:
    """Valid attachments: real PDF, PNG or JPEG bytes built in memory (``media``: "pdf", "png",
    "jpeg" or any), named with a matching extension in any case."""
    if media is not None and media not in _ATTACHMENT_SOURCES:
        raise InvalidArgument(f"attachments(media={media!r}) : type inconnu ; pdf, png, jpeg ou None")
    return _attachment(tuple(_ATTACHMENT_SOURCES) if media is None else (media,))


@_memo
def hostile_filenames() -> st.SearchStrategy[str]:
    """File names a portal must survive: traversal, double extensions, controls, bidi overrides,
    very long names, reserved device names."""
    return st.one_of(
        st.sampled_from([
            "../../../etc/passwd", "..\\..\\windows\\win.ini", "facture.pdf.exe", "facture.pdf\x00.exe",
            "facture\u202efdp.exe", "CON", "aux.pdf", " .pdf", ".pdf", "pdf", "", "a" * 300 + ".pdf",
            "<img src=x onerror=alert(1)>.pdf", "%2e%2e%2fetc.pdf", "fichier\n.pdf", "\ud800.pdf",
            "..／..／pv.pdf", "..∕pv.pdf", "pv：evil.pdf", "pv.exe .pdf", "pv.exe\u2000.pdf", "CON.pdf", "nul.png",
            "COM1.jpg", "LPT1.pdf", "..%2f..%2fpv.pdf", "pv%00.pdf", "COM¹.pdf",
        ]),
        st.builds(lambda s, e: s + e, st.text(max_size=40), st.sampled_from(["", ".exe", ".pdf", ".svg", ".html"])),
    )


_MZ = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 48
_ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 57
_SCRIPT = b"#!/bin/sh\nrm -rf /\n"
_HTML = b"<html><script>alert(1)</script></html>"
_ZIP = b"PK\x03\x04" + b"\x00" * 26


@st.composite
def _hostile(draw: st.DrawFn, corridor: Corridor) -> Attachment:
    kind = draw(st.sampled_from(("executable", "polyglot", "mismatch", "empty", "oversized", "extension", "name",
                                 "inspection")))
    allowed_ext = draw(st.sampled_from(sorted(corridor.allowed_types)))
    if kind == "inspection":  # a family of the hostile corpus: active PDF content, foreign data, hostile names…
        from .fichiers import HOSTILES, hostile

        case = hostile(draw(st.sampled_from(sorted(HOSTILES))))
        return Attachment.from_bytes(case.name, case.data)
    if kind == "executable":  # an executable or script renamed to an accepted extension
        payload = draw(st.sampled_from((_MZ, _ELF, _SCRIPT, _HTML, _ZIP))) + draw(st.binary(max_size=64))
        return Attachment.from_bytes("document" + allowed_ext, payload)
    if kind == "polyglot":  # sniffs as one accepted type, named as another (PNG+PDF, JPEG+ZIP…)
        media = draw(st.sampled_from(("png", "jpeg")))
        head = examples.png_bytes() if media == "png" else examples.jpeg_bytes()
        tail = draw(st.sampled_from((examples.pdf_bytes(), _ZIP, _MZ)))
        # sniffed as the image, so a .pdf name must be refused (a tail alone never makes a PDF)
        return Attachment.from_bytes("polyglotte.pdf", head + tail)
    if kind == "mismatch":  # real bytes of one type under another accepted extension
        sources = {"application/pdf": examples.pdf_bytes(), "image/png": examples.png_bytes(),
                   "image/jpeg": examples.jpeg_bytes()}
        data = sources[corridor.allowed_types[allowed_ext]]
        others = [e for e, t in corridor.allowed_types.items() if t != corridor.allowed_types[allowed_ext]]
        return Attachment.from_bytes("piece" + draw(st.sampled_from(sorted(others))), data)
    if kind == "empty":
        return Attachment.from_bytes("vide" + allowed_ext, b"")
    if kind == "oversized":  # metadata only: the size a stream reader counted, not bytes in memory
        good = draw(attachments())
        extra = draw(st.integers(1, 10 * corridor.max_attachment_bytes))
        return attrs.evolve(good, size=corridor.max_attachment_bytes + extra)
    if kind == "extension":  # real content, refused extension
        ext = draw(st.sampled_from((".exe", ".svg", ".html", ".gif", ".docx", ".pdf.exe", "")))
        return Attachment.from_bytes("piece" + ext, examples.pdf_bytes())
    # hostile name ending in a refused extension (or none), with real PDF bytes
    name = draw(hostile_filenames())
    if ("." + name.rsplit(".", 1)[-1].lower() if "." in name else "") in corridor.allowed_types:
        name += ".exe"
    return Attachment.from_bytes(name, examples.pdf_bytes())


@_memo
def hostile_attachments(corridor: Corridor = SAS) -> st.SearchStrategy[Attachment]:
    """Attachments the portal's file rule must refuse: renamed executables and scripts, polyglots,
    content not matching the extension, empty files, oversized files (as size metadata),
    refused extensions and hostile names, and every family of the hostile corpus
    (:data:`segur_workflow.testing.fichiers.HOSTILES`: PDF JavaScript, Launch, automatic URI,
    SubmitForm, ImportData, GoToR/GoToE, embedded files, RichMedia, XFA, encrypted or unreadable
    PDFs, code in image chunks, EXIF and comments, other formats before or after the document,
    look-alike separators, device names…)."""
    _require_corridor("hostile_attachments", corridor)
    return _hostile(corridor)


@_memo
def pieces(phase: Phase, corridor: Corridor = SAS) -> st.SearchStrategy[dict[PieceKind, Attachment]]:
    """A complete, valid set of the phase's pieces."""
    phase = _enum_member(Phase, "pieces(phase=…)", phase)
    _require_corridor("pieces", corridor)
    return st.fixed_dictionaries({k: attachments() for k in corridor.pieces(phase)})


@_memo
def _subsets(items: tuple[Any, ...], min_size: int = 0) -> st.SearchStrategy[frozenset[Any]]:
    return st.frozensets(st.sampled_from(items), min_size=min_size)


_FOURNISSEUR_FLAWS = st.frozensets(st.sampled_from(("siret", "enrole", "reference")), min_size=1)


# -- commands ---------------------------------------------------------------------------------------------------------
def _spec(trigger: str) -> TransitionSpec:
    return next(t for t in DOSSIER.transitions if t.trigger == trigger)


def _phase(trigger: str) -> Phase:
    """The phase a trigger's pieces and amount belong to: the one of the state it leads to."""
    spec = _spec(trigger)
    return Status(spec.target(spec.sources[0] if spec.sources else "")).phase


def _fields(trigger: str) -> Mapping[str, attrs.Attribute[Any]]:
    return {a.name: a for a in attrs.fields(COMMANDS[trigger]) if a.name != "command_id"}


def _optional(attribute: attrs.Attribute[Any]) -> bool:
    return attribute.default is not attrs.NOTHING


_OPTIONAL_TEXTS = st.one_of(st.none(), texts())
_GESTIONNAIRES = st.lists(actors(Role.GESTIONNAIRE), min_size=1, max_size=3)


def _valid_fields(draw: st.DrawFn, trigger: str, dossier: Dossier | None, corridor: Corridor) -> dict[str, Any]:
    """Field values passing the trigger's command-level guards (dossier-level ones are not its concern)."""
    spec = _spec(trigger)
    fields = _fields(trigger)
    hints = typing.get_type_hints(COMMANDS[trigger])
    out: dict[str, Any] = {}
    if "fournisseur" in fields:
        out["fournisseur"] = draw(fournisseurs())
    for name, attribute in fields.items():
        if name in out or name == "actor":
            continue
        optional = _optional(attribute)
        if name == "coordonnees_bancaires":
            out[name] = draw(coordonnees_bancaires())
        elif name == "montant":
            out[name] = corridor.montant(_phase(trigger))
        elif name == "pieces" and not optional:
            out[name] = draw(pieces(_phase(trigger), corridor))
        elif name == "pieces":  # a complement: some of the phase's pieces, the requested one included
            wanted = dossier.piece_demandee if dossier is not None else None
            kinds = set(draw(_subsets(corridor.pieces(_phase(trigger)))))
            if wanted is not None:
                kinds.add(wanted)
            out[name] = {k: draw(attachments()) for k in sorted(kinds)}
        elif name == "contact_support":
            out[name] = draw(st.one_of(st.none(), contacts())) if optional else draw(contacts())
        elif name == "gestionnaire":  # reaffecter: someone else than the gestionnaire in charge
            chosen = draw(actors(Role.GESTIONNAIRE)).id
            out[name] = chosen + "-2" if dossier is not None and chosen == dossier.gestionnaire else chosen
        elif name == "piece":  # a piece of the phase under instruction (rules.piece_de_la_phase)
            out[name] = draw(st.sampled_from(corridor.pieces(_phase(trigger))))
        elif isinstance(hints[name], type) and issubclass(hints[name], enum.Enum):
            out[name] = draw(st.sampled_from(list(hints[name])))
        elif optional:
            out[name] = draw(_OPTIONAL_TEXTS)
        else:
            out[name] = draw(texts())
    if "pieces" in fields and _optional(fields["pieces"]) and not out["pieces"] and out.get("contact_support") is None:
        out["contact_support"] = draw(contacts())  # a complement must bring something
    if "fournisseur" in out:
        out["actor"] = Actor(Role.FOURNISSEUR, out["fournisseur"].ans_id)
    elif spec.owner_only and dossier is not None:
        out["actor"] = Actor(Role.FOURNISSEUR, dossier.fournisseur.ans_id)
    else:
        roles = sorted({r for t in DOSSIER.transitions if t.trigger == trigger for r in t.roles})
        out["actor"] = draw(actors(draw(st.sampled_from(roles))))
    return out


def _other_phase_pieces(trigger: str, corridor: Corridor) -> tuple[PieceKind, ...]:
    phase = _phase(trigger)
    return tuple(k for p in Phase if p is not phase for k in corridor.pieces(p) if k not in corridor.pieces(phase))


def _broken_fields(draw: st.DrawFn, trigger: str, dossier: Dossier | None, corridor: Corridor) -> dict[str, Any]:
    """Valid fields, then one or more deliberate flaws the guards or permissions must refuse."""
    out = _valid_fields(draw, trigger, dossier, corridor)
    fields = _fields(trigger)
    roles = {r for t in DOSSIER.transitions if t.trigger == trigger for r in t.roles}
    flaws: list[str] = ["actor"]
    for name, attribute in fields.items():
        if name in ("fournisseur", "coordonnees_bancaires", "montant", "pieces", "commentaire", "motif",
                    "contact_support") or (name == "piece" and _other_phase_pieces(trigger, corridor)):
            flaws.append(name)
        if name == "commentaire" and _optional(attribute):
            flaws.remove(name)
            flaws.append("commentaire_long")
    if dossier is not None and dossier.piece_demandee is not None and "pieces" in fields:
        flaws.append("piece_demandee")
    chosen = draw(_subsets(tuple(flaws), min_size=1))
    for flaw in sorted(chosen):
        if flaw == "actor":
            others = sorted(set(Role) - roles)
            choices = [draw(actors(draw(st.sampled_from(others))))] if others else []
            if _spec(trigger).owner_only or "fournisseur" in fields:
                owner_id = out["fournisseur"].ans_id if "fournisseur" in out else (
                    dossier.fournisseur.ans_id if dossier is not None else "")
                other = draw(actors(Role.FOURNISSEUR))
                choices.append(other if other.id != owner_id else Actor(Role.FOURNISSEUR, owner_id + "-autre"))
            if choices:
                out["actor"] = draw(st.sampled_from(choices))
        elif flaw == "fournisseur":
            out["fournisseur"] = draw(fournisseurs(valid=False, ans_id=out["fournisseur"].ans_id))
        elif flaw == "coordonnees_bancaires":
            out["coordonnees_bancaires"] = draw(coordonnees_bancaires(valid=False))
        elif flaw == "montant":
            expected = corridor.montant(_phase(trigger))
            montant = draw(_MONTANTS)
            out["montant"] = montant if montant != expected else montant + Decimal("0.01")
        elif flaw == "pieces" and _optional(fields["pieces"]):  # a complement with a hostile file
            kind = draw(st.sampled_from(corridor.pieces(_phase(trigger))))
            out["pieces"] = {**out["pieces"], kind: draw(hostile_attachments(corridor))}
        elif flaw == "pieces":
            required = corridor.pieces(_phase(trigger))
            current = dict(out["pieces"])
            # only a piece that is there can go missing (another flaw may have taken one out already)
            present = [k for k in required if k in current]
            how = draw(st.sampled_from(("missing", "hostile", "extra") if present else ("hostile", "extra")))
            if how == "missing":
                del current[draw(st.sampled_from(present))]
            elif how == "hostile":
                current[draw(st.sampled_from(required))] = draw(hostile_attachments(corridor))
            else:
                extra = [k for k in PieceKind if k not in required]
                if extra:
                    current[draw(st.sampled_from(extra))] = draw(attachments())
                else:
                    current[draw(st.sampled_from(required))] = draw(hostile_attachments(corridor))
            out["pieces"] = current
        elif flaw == "piece_demandee":
            assert dossier is not None
            assert dossier.piece_demandee is not None
            current = {k: v for k, v in out["pieces"].items() if k is not dossier.piece_demandee}
            out["pieces"] = current
            if not current and out.get("contact_support") is None:
                out["contact_support"] = draw(contacts())
        elif flaw == "piece":  # a piece of the other phase: never asked for during this one
            out["piece"] = draw(st.sampled_from(_other_phase_pieces(trigger, corridor)))
        elif flaw == "commentaire_long":
            out["commentaire"] = "x" * (MAX_TEXT + draw(st.integers(1, 10)))
        elif flaw == "contact_support":
            out["contact_support"] = draw(contacts(valid=False))
        else:  # a required text left blank or too long
            out[flaw] = draw(texts(valid=False))
    return out


def commands(
    trigger: str | None = None,
    *,
    dossier: Dossier | None = None,
    valid: bool | None = None,
    corridor: Corridor = SAS,
    command_id: st.SearchStrategy[str | None] | None = None,
) -> st.SearchStrategy[Command]:
    """Commands of ``trigger`` (any trigger of the definition if ``None``).

    * ``valid=True``: the content passes the trigger's command-level guards and the actor has the
      right role (the dossier's owner for owner-only triggers, when ``dossier`` is given). Guards
      on the dossier itself (every bloc OK before ``decider``…) are not the command's business.
    * ``valid=False``: at least one deliberate flaw (wrong actor, blank or overlong text, missing,
      extra or hostile piece, wrong amount, invalid provider or bank details, the requested piece
      left out): ``handle``/``start`` must refuse it whatever the dossier.
    * ``valid=None`` (default): either.
    """
    _require(valid is None or isinstance(valid, bool), "commands(valid=…)", "True, False ou None", valid)
    _require(dossier is None or isinstance(dossier, Dossier), "commands(dossier=…)", "un Dossier ou None", dossier)
    _require_corridor("commands", corridor)
    _require(command_id is None or isinstance(command_id, st.SearchStrategy), "commands(command_id=…)",
             "une stratégie de command_id ou None", command_id)
    triggers = (trigger,) if trigger is not None else DOSSIER.triggers
    for t in triggers:
        if t not in COMMANDS:
            raise InvalidArgument(
                f"commands(trigger={t!r}) : déclencheur inconnu ; un de {', '.join(DOSSIER.triggers)}")
    return _command(triggers, dossier, valid, corridor, command_id if command_id is not None else _COMMAND_IDS)


_MONTANTS = st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-10**7, max_value=10**7)
_DELAYS = st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=20))
_COMMAND_IDS: st.SearchStrategy[str | None] = st.one_of(st.none(), st.uuids().map(str))


@st.composite
def _command(draw: st.DrawFn, triggers: tuple[str, ...], dossier: Dossier | None, valid: bool | None,  # noqa: PLR0917
             corridor: Corridor, ids: st.SearchStrategy[str | None]) -> Command:
    trigger = draw(st.sampled_from(triggers))
    broken = draw(st.booleans()) if valid is None else not valid
    fields = (_broken_fields if broken else _valid_fields)(draw, trigger, dossier, corridor)
    return COMMANDS[trigger](**fields, command_id=draw(ids))


# -- dossiers ---------------------------------------------------------------------------------------------------------
@st.composite
def _dossier(draw: st.DrawFn, status: Status | None, corridor: Corridor, max_steps: int) -> Dossier:
    target = Status(status) if status is not None else draw(st.sampled_from(Status))
    can_reach = reaching(target.value)
    fournisseur = draw(fournisseurs())
    owner = Actor(Role.FOURNISSEUR, fournisseur.ans_id)
    gestionnaires = draw(_GESTIONNAIRES)
    now = draw(instants(max_value=datetime(2027, 1, 1)))
    first = DeposerAvance(owner, fournisseur, draw(coordonnees_bancaires()), draw(pieces(Phase.AVANCE, corridor)),
                          corridor.montant_avance, command_id=draw(_COMMAND_IDS))
    dossier = start(first, numero=draw(numeros(corridor)), now=now, corridor=corridor).dossier

    def fire(dossier: Dossier, trigger: str, now: datetime) -> tuple[Dossier, datetime]:
        prep = examples.commands_to_fire(dossier, trigger, corridor)[:-1]
        for example in prep:
            now += draw(_DELAYS)
            command = attrs.evolve(example, actor=draw(st.sampled_from(gestionnaires)))
            dossier = handle(dossier, command, now=now, corridor=corridor).dossier
        last = draw(_command((trigger,), dossier, True, corridor, _COMMAND_IDS))
        if last.actor.role is Role.GESTIONNAIRE:
            last = attrs.evolve(last, actor=draw(st.sampled_from(gestionnaires)))
        now += draw(_DELAYS)
        return handle(dossier, last, now=now, corridor=corridor).dossier, now

    budget = draw(st.integers(0, max_steps))
    while budget > 0:
        here = dossier.status.value
        # "stop" first, so that shrinking goes towards the shortest walks
        options: list[str | None] = [None] if here == target.value else []
        options += [t.trigger for t in DOSSIER.outgoing(here) if t.target(here) in can_reach]
        choice = draw(st.sampled_from(options))
        if choice is None:
            break
        dossier, now = fire(dossier, choice, now)
        budget -= 1
    for trigger in shortest_path_between(dossier.status.value, target.value):
        dossier, now = fire(dossier, trigger, now)
    return dossier


def dossiers(status: Status | str | None = None, *, corridor: Corridor = SAS, max_steps: int = 12
             ) -> st.SearchStrategy[Dossier]:
    """Dossiers reached by a random legal path ending in ``status`` (any status if ``None``).

    The path is drawn through the definition: random triggers among those that can still lead to
    ``status`` (loops *à modifier* / *en attente de pièce* ↔ *en instruction* and bloc controls
    included), random provider, gestionnaires, contents and times (strictly increasing, any UTC
    offset); after ``max_steps`` random steps a shortest path finishes the walk.
    """
    _require_corridor("dossiers", corridor)
    _require(isinstance(max_steps, int) and not isinstance(max_steps, bool) and max_steps >= 0,
             "dossiers(max_steps=…)", "un entier positif ou nul", max_steps)
    target = _enum_member(Status, "dossiers(status=…)", status) if status is not None else None
    return _dossier(target, corridor, max_steps)


# -- st.from_type ---------------------------------------------------------------------------------------------------
_LOGINS = st.from_regex(r"[a-z][a-z0-9._-]{2,30}", fullmatch=True)
# the portal's policy: 8+ characters, a digit, a special character, ASCII, not the login
_PASSWORDS = st.builds(lambda head, digit, special, tail: head + digit + special + tail,
                       st.text(string.ascii_letters, min_size=6, max_size=20), st.sampled_from(_DIGITS),
                       st.sampled_from(".,;?!:%#"), st.text(string.ascii_letters + _DIGITS, max_size=10))
_SALTS = st.binary(min_size=16, max_size=32)
_SHORT_TEXTS = texts(max_size=60)


def _compte_commands() -> dict[type[Command], Callable[[], st.SearchStrategy[Any]]]:
    """Account commands with valid contents (the portal's password policy, salts of 16 bytes and more)."""
    from .. import compte as c

    portail, titulaire = actors(Role.SYSTEME), actors(Role.FOURNISSEUR)

    def changes() -> st.SearchStrategy[Any]:
        return st.builds(lambda actor, old, new, sel: c.ChangerMotDePasse(actor, old, new, new, sel),
                         titulaire, _PASSWORDS, _PASSWORDS, _SALTS).filter(
            lambda cmd: cmd.nouveau_mot_de_passe != cmd.ancien_mot_de_passe
            and cmd.nouveau_mot_de_passe.casefold() != cmd.actor.id.casefold())

    return {
        c.CreerCompte: lambda: st.builds(c.CreerCompte, portail, _LOGINS, _PASSWORDS, _SALTS, email=emails()),
        c.PremiereConnexion: lambda: st.builds(c.PremiereConnexion, titulaire, _PASSWORDS),
        c.ChangerMotDePasse: changes,
        c.DefinirQuestionSecrete: lambda: st.builds(c.DefinirQuestionSecrete, titulaire, _SHORT_TEXTS, _SHORT_TEXTS,
                                                    _SALTS),
        c.OublierMotDePasse: lambda: st.builds(c.OublierMotDePasse, titulaire, _SHORT_TEXTS, _PASSWORDS, _SALTS),
        c.OublierIdentifiant: lambda: st.builds(c.OublierIdentifiant, portail, emails()),  # fired by the portal
        c.CloturerCompte: lambda: st.builds(c.CloturerCompte, portail, st.one_of(st.none(), _SHORT_TEXTS)),
    }


def register_type_strategies() -> None:
    """Make ``st.from_type`` give valid values of the public types (done when ``segur_workflow.testing``
    is imported): ``Dossier`` (a legal path), ``Fournisseur``, ``CoordonneesBancaires``, ``Attachment``,
    ``Actor``, every dossier command (``commands(trigger, valid=True)``; ``Command`` itself: any of them)
    and every account command. Registering again is harmless.

    Each type is registered with a resolver function, not a strategy: hypothesis then builds nothing
    until a test asks (registering a strategy would evaluate it, at pytest start-up for the plugin)."""
    registered: dict[type[Any], Callable[[], st.SearchStrategy[Any]]] = {
        Dossier: dossiers,
        Fournisseur: fournisseurs,
        CoordonneesBancaires: coordonnees_bancaires,
        Attachment: attachments,
        Actor: actors,
        Command: lambda: commands(valid=True),
    }
    for trigger, cls in COMMANDS.items():
        registered[cls] = functools.partial(commands, trigger, valid=True)
    registered.update(_compte_commands())
    for cls, make in registered.items():
        st.register_type_strategy(cls, _resolver(cls, make))


def _resolver(cls: type[Any], make: Callable[[], st.SearchStrategy[Any]]) -> Callable[[type[Any]], Any]:
    def resolve(asked: type[Any]) -> Any:
        # from_type(subclass) falls back on the base's resolver: a host's subclass is not ours to build
        return make() if asked is cls else NotImplemented

    return resolve


register_type_strategies()
