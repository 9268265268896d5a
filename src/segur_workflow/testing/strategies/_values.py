"""Texts (valid, invalid, hostile), support contacts, e-mail addresses, providers, bank details, actors, instants."""

from __future__ import annotations

import operator
import string
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
from hypothesis import strategies as st

from ...model import Actor, CoordonneesBancaires, Fournisseur
from ...rules import MAX_CONTACT, MAX_TEXT
from ...vocabulary import Role
from ._args import enum_member, memo, require, require_bool
from ._identifiers import bics, ibans, invalid_bics, invalid_ibans, invalid_sirets, sirets

__all__ = ["VISIBLE", "actors", "contacts", "coordonnees_bancaires", "emails", "fournisseurs", "hostile_texts",
           "instants", "texts"]

VISIBLE = st.sampled_from("AZaz09éÉçàü<&'\"{%$€")
# No lone surrogates (they are not text) and no control characters but tab and line feed: commands
# refuse the others at construction (docs/delivery.md, "What the boundary refuses").
_TEXT_CHARS = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")) | st.sampled_from("\n\t")


# -- texts ------------------------------------------------------------------------------------------------------
@memo
def texts(*, valid: bool = True, max_size: int = 80) -> st.SearchStrategy[str]:
    """Free texts (motif, commentaire, contact). ``valid``: non-blank, within the length limit, any
    printable Unicode (HTML and quotes included). Invalid: blank or over the limit."""
    require_bool("texts", valid=valid)
    require(isinstance(max_size, int) and not isinstance(max_size, bool) and 1 <= max_size <= MAX_TEXT,
             "texts(max_size=…)", f"un entier de 1 à {MAX_TEXT}", max_size)
    if valid:
        # a visible first character instead of a filter: filtering blank texts out costs many draws
        return st.builds(operator.add, VISIBLE, st.text(_TEXT_CHARS, max_size=max_size - 1))
    return st.one_of(
        st.sampled_from(["", " ", "\n\t", "\u00a0", "\u2003"]),
        st.builds(lambda c, extra: c * (MAX_TEXT + extra), st.sampled_from("ax<"), st.integers(1, 50)),
    )


@memo
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


@memo
def contacts(*, valid: bool = True) -> st.SearchStrategy[str]:
    """Support contacts (``contact_support``). Valid: an e-mail address, a French phone number or an
    http(s) link, alone or in a short sentence. Invalid: blank, too long, no way to reach anyone, or a
    script link."""
    require_bool("contacts", valid=valid)
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
_NAMES = st.builds(operator.add, VISIBLE, st.text(st.characters(codec="utf-8", categories=("L", "N", "Zs", "P")),
                                                  max_size=39))

_FOURNISSEUR_FLAWS = st.frozensets(st.sampled_from(("siret", "enrole", "reference")), min_size=1)


@memo
def emails() -> st.SearchStrategy[str]:
    # what email-validator accepts: no leading, trailing or doubled dot; no label ending with "-" or with
    # "--" in 3rd-4th place (reserved for IDNA)
    return st.builds(lambda u, d: f"{u}@{d}.example", st.from_regex(r"[a-z][a-z0-9]{0,7}(\.[a-z0-9]{1,7})?",
                                                                    fullmatch=True),
                     st.from_regex(r"[a-z]([a-z0-9]{0,7}(-[a-z0-9]{1,7})?)?", fullmatch=True))


@memo
def fournisseurs(*, valid: bool = True, ans_id: str | None = None) -> st.SearchStrategy[Fournisseur]:
    """Providers. Valid: enrolled, referenced, a valid SIRET. Invalid: at least one of those broken."""
    require_bool("fournisseurs", valid=valid)
    require(ans_id is None or (isinstance(ans_id, str) and bool(ans_id.strip())), "fournisseurs(ans_id=…)",
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


@memo
def coordonnees_bancaires(*, valid: bool = True) -> st.SearchStrategy[CoordonneesBancaires]:
    """Bank details; invalid ones have a bad IBAN, a bad BIC or both."""
    require_bool("coordonnees_bancaires", valid=valid)
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


@memo
def actors(role: Role | None = None) -> st.SearchStrategy[Actor]:
    """Actors of ``role`` (any role if ``None``) with a plausible id."""
    role = None if role is None else enum_member(Role, "actors(role=…)", role)
    roles = st.just(role) if role is not None else st.sampled_from(Role)
    return st.builds(Actor, roles, st.from_regex(r"[a-zA-Z][a-zA-Z0-9._-]{0,20}", fullmatch=True))


@memo
def instants(*, min_value: datetime = datetime(2023, 1, 1), max_value: datetime = datetime(2030, 1, 1)
             ) -> st.SearchStrategy[datetime]:
    """Aware datetimes in UTC or any fixed offset (the engine must not care which); the bounds are naive."""
    for name, bound in (("min_value", min_value), ("max_value", max_value)):
        require(isinstance(bound, datetime) and bound.tzinfo is None, f"instants({name}=…)",
                 "une datetime naïve (les fuseaux sont tirés par la stratégie)", bound)
    require(min_value <= max_value, "instants(min_value=…, max_value=…)", "min_value <= max_value",
             (min_value, max_value))
    offsets = st.one_of(st.just(UTC), st.builds(lambda m: timezone(timedelta(minutes=m)), st.integers(-14 * 60,
                                                                                                     14 * 60)))
    return st.datetimes(min_value=min_value, max_value=max_value, timezones=offsets)
