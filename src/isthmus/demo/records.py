"""Record factories for the demo's CRM export: accounts, contacts and the ways to spoil them.

Every value is drawn from an explicit :class:`random.Random`; nothing reads the clock, global
state or hash order. Only ``Random.random`` is used: it is the fastest draw, and unlike
``choice`` or ``randrange`` its algorithm does not change between Python versions.

A *good* contact passes every rule of the workload: ``lower(trim(Email))`` matches
``^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$``; both dates are ISO-8601 with a zone and
``LastModifiedDate >= CreatedDate``; ``lower(trim(Status))`` is in :data:`VALID_STATUSES`;
``LeadScore`` is null, absent or a number in [0, 100]; ``Account`` is null or a known account.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import unicodedata
import zlib
from collections.abc import Callable, Sequence
from typing import Final

Record = dict[str, object]

VALID_STATUSES: Final = frozenset(
    {"active", "customer", "inactive", "prospect", "lead", "churned", "former customer"}
)
INDUSTRIES: Final = ("Technology", "Retail", "Manufacturing", "Finance", "Healthcare", "Energy")

_FIRST: Final = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "Chloé", "José", "Zoë", "Ana", "Mohammed", "Wei", "Yuki", "Olga", "Søren",
    "Priya", "Kwame", "Lena", "Björn", "Amélie",
)  # fmt: skip
_LAST: Final = (
    "Smith", "Johnson", "Brown", "Garcia", "Miller", "Davis", "Martinez", "Wilson", "Anderson",
    "Taylor", "O'Brien", "Müller", "Nguyen", "Kim", "Kowalski", "van der Berg", "Okafor",
    "Silva", "Rossi", "Dubois", "Øster", "Łukasiewicz", "Ibáñez", "Çelik",
)  # fmt: skip
_DOMAINS: Final = (
    "example.com", "Acme.io", "globex.COM", "initech.net", "umbrella.org",
    "mail.example.co.uk", "hooli.xyz", "GMAIL.com",
)  # fmt: skip
_COMPANY_STEMS: Final = (
    "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka", "Tyrell",
    "Cyberdyne", "Vandelay", "Aperture", "Société Lumière", "Müller Logistik", "Nordström",
    "Zürich Data", "São Paulo Têxtil", "Kowalczyk & Syn",
)  # fmt: skip
_COMPANY_SUFFIXES: Final = ("Corp", "Inc.", "GmbH", "Ltd", "S.A.", "LLC", "Group", "AG")
_GOOD_STATUSES: Final = (
    "Active", "active", "ACTIVE", " Active ", "Customer", "customer", "Inactive", "inactive",
    "Prospect", "prospect", "PROSPECT", "Lead", "lead ", "Churned", "churned",
    "Former Customer", "former customer",
)  # fmt: skip
_TAGS: Final = ("vip", "newsletter", "webinar", "partner", "trial", "enterprise", "smb")
# Every subset of at most three tags, in a fixed order; a record picks one uniformly.
_TAG_SETS: Final = tuple(
    tuple(t for b, t in enumerate(_TAGS) if mask >> b & 1)
    for mask in range(1 << len(_TAGS))
    if mask.bit_count() <= 3
)

# --- ids ---------------------------------------------------------------------------------------

_B62: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_PAIRS: Final = tuple(a + b for a in _B62 for b in _B62)  # 62**2 two-character digits
_ID_SPACE: Final = 62**12
ACCOUNT_STEP: Final = 48_271  # prime, so coprime with 62**12: serial -> id is a bijection
CONTACT_STEP: Final = 2_654_435_761  # prime as well


def _b62_12(n: int) -> str:
    n, a = divmod(n, 3844)
    n, b = divmod(n, 3844)
    n, c = divmod(n, 3844)
    n, d = divmod(n, 3844)
    n, e = divmod(n, 3844)
    return f"{_PAIRS[n]}{_PAIRS[e]}{_PAIRS[d]}{_PAIRS[c]}{_PAIRS[b]}{_PAIRS[a]}"


def id_maker(prefix: str, seed: int, step: int, suffix: str = "AAA") -> Callable[[int], str]:
    """Return serial -> 18-character Salesforce-like id, distinct for distinct serials.

    The seed shifts the sequence, so two demo tenants do not share ids.
    """
    base = random.Random(f"isthmus-ids:{prefix}:{seed}").random()  # noqa: S311 - sample data, not secrets
    offset = int(base * _ID_SPACE)

    def make(serial: int) -> str:
        return prefix + _b62_12((offset + serial * step) % _ID_SPACE) + suffix

    return make


def company_name(account_id: str) -> str:
    """The account's name, a pure function of its id, so contacts can quote it without a lookup."""
    h = zlib.crc32(account_id.encode())
    stem = _COMPANY_STEMS[h % len(_COMPANY_STEMS)]
    return f"{stem} {_COMPANY_SUFFIXES[(h >> 16) % len(_COMPANY_SUFFIXES)]}"


# --- timestamps --------------------------------------------------------------------------------
# Instants are whole seconds since _DAY0 (UTC) plus milliseconds. Rendering goes through lookup
# tables because format specs (f"{hour:02d}") cost four times as much at 10M rows.

_DAY0: Final = dt.date(2014, 12, 31)
_DAYS: Final = tuple((_DAY0 + dt.timedelta(days=i)).isoformat() for i in range(366 * 16))
_HOURS: Final = tuple(f"{h:02d}" for h in range(24))
_MINUTES_SECONDS: Final = tuple(f"{m:02d}:{s:02d}" for m in range(60) for s in range(60))
_D3: Final = tuple(f"{i:03d}" for i in range(1000))
_D4: Final = tuple(f"{i:04d}" for i in range(10_000))

_SPAN_START: Final = 86_400  # 2015-01-01T00:00:00Z
_SPAN: Final = (dt.date(2024, 7, 1) - _DAY0).days * 86_400 - _SPAN_START
_MAX_EDIT_GAP: Final = 400 * 86_400
MODIFIED_CAP: Final = (dt.date(2025, 1, 1) - _DAY0).days * 86_400 - 1  # 2024-12-31T23:59:59Z
DUPLICATE_BASE: Final = (dt.date(2025, 1, 2) - _DAY0).days * 86_400  # duplicates: 2025 onwards

Zone = tuple[int, str, bool]  # offset seconds, designator, with milliseconds
_SALESFORCE: Final[Zone] = (0, "+0000", True)
_ZULU: Final[Zone] = (0, "Z", False)
_ZONES: Final[tuple[Zone, ...]] = (
    (_SALESFORCE,) * 12
    + (_ZULU,) * 4
    + ((-28_800, "-08:00", True), (7_200, "+02:00", True), (19_800, "+05:30", True))
    + ((-18_000, "-05:00", True),)
)


def iso(seconds: int, millis: int, zone: Zone) -> str:
    """Render an instant as ISO-8601 with a zone designator, in the zone's local time."""
    offset, designator, with_ms = zone
    day, sec = divmod(seconds + offset, 86_400)
    hour, sec = divmod(sec, 3_600)
    if with_ms:
        return f"{_DAYS[day]}T{_HOURS[hour]}:{_MINUTES_SECONDS[sec]}.{_D3[millis]}{designator}"
    return f"{_DAYS[day]}T{_HOURS[hour]}:{_MINUTES_SECONDS[sec]}{designator}"


# --- contacts ----------------------------------------------------------------------------------

encode_json: Final = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), check_circular=False, allow_nan=False
).encode
"""Compact JSON, non-ASCII kept as is: the one encoding of every JSON Lines record."""

_UNDECOMPOSABLE: Final = str.maketrans({"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "ß": "ss"})


def _email_token(name: str) -> str:
    """ASCII letters of a name for an email's local part: "Søren" -> "Soren"."""
    folded = unicodedata.normalize("NFKD", name.translate(_UNDECOMPOSABLE))
    folded = folded.encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded if ch.isalnum())


_FIRST_TOKENS: Final = tuple(_email_token(n) for n in _FIRST)
_LAST_TOKENS: Final = tuple(_email_token(n) for n in _LAST)
# Index -1 of the first names (and of a factory's accounts) stands for null.
_FIRST_OR_NULL: Final = (*_FIRST, None)
_FIRST_JSON: Final = tuple(encode_json(n) for n in _FIRST_OR_NULL)
_LAST_JSON: Final = tuple(encode_json(n) for n in _LAST)
_STATUS_JSON: Final = tuple(encode_json(s) for s in _GOOD_STATUSES)
_TAGS_JSON: Final = tuple(encode_json(t) for t in _TAG_SETS)

_ABSENT: Final = object()  # a LeadScore key left out rather than set to null


def _score_json(score: object) -> str:
    """What ``encode_json`` makes of a good LeadScore, without its per-call set-up (0.7 µs)."""
    if score is None:
        return "null"
    if isinstance(score, str):
        return encode_json(score)
    return repr(score)  # int or float: the json module also renders them with repr


# first, last, email, phone, account, created, modified, lead score, status, tags, opt-out;
# names, account, status and tags are indices into the tables above.
_Draw = tuple[int, int, str, str | None, int, str, str, object, int, int, bool]


class ContactFactory:
    """Makes good contacts; every draw comes from the given generator.

    :meth:`contact` returns a mapping, :meth:`contact_json` the same record already encoded
    (three times faster, for the benchmark's 10M-row files). Records share their ``Account``
    mappings and ``Tags`` tuples: replace a value, never mutate one in place.
    """

    def __init__(self, rng: random.Random, accounts: Sequence[str]) -> None:
        self._rand = rng.random
        pool = [{"Id": a, "Name": company_name(a)} for a in accounts]
        self._accounts: tuple[dict[str, str] | None, ...] = (*pool, None)
        self._accounts_json = tuple(encode_json(a) for a in self._accounts)
        self._known_accounts = len(pool)

    def contact(self, contact_id: str, modified_at: int | None = None) -> Record:
        """A good contact; ``modified_at`` (seconds) forces LastModifiedDate, else it is random."""
        first, last, email, phone, account, created, modified, score, status, tags, opt_out = (
            self._draw(modified_at)
        )
        record: Record = {
            "Id": contact_id,
            "FirstName": _FIRST_OR_NULL[first],
            "LastName": _LAST[last],
            "Email": email,
            "Phone": phone,
            "Account": self._accounts[account],
            "CreatedDate": created,
            "LastModifiedDate": modified,
            "LeadScore": score,
            "Status": _GOOD_STATUSES[status],
            "Tags": _TAG_SETS[tags],
            "OptOut": opt_out,
        }
        if score is _ABSENT:
            del record["LeadScore"]
        return record

    def contact_json(self, contact_id: str, modified_at: int | None = None) -> str:
        """``encode_json(contact(...))`` for the same draws, byte for byte, built from parts."""
        first, last, email, phone, account, created, modified, score, status, tags, opt_out = (
            self._draw(modified_at)
        )
        # Ids, dates and phones are digits, letters and punctuation that JSON never escapes.
        phone_json = "null" if phone is None else f'"{phone}"'
        score_json = "" if score is _ABSENT else f',"LeadScore":{_score_json(score)}'
        return (
            f'{{"Id":"{contact_id}","FirstName":{_FIRST_JSON[first]},'
            f'"LastName":{_LAST_JSON[last]},"Email":{encode_json(email)},"Phone":{phone_json},'
            f'"Account":{self._accounts_json[account]},"CreatedDate":"{created}",'
            f'"LastModifiedDate":"{modified}"{score_json},"Status":{_STATUS_JSON[status]},'
            f'"Tags":{_TAGS_JSON[tags]},"OptOut":{"true" if opt_out else "false"}}}'
        )

    def _draw(self, modified_at: int | None) -> _Draw:
        rand = self._rand
        first = int(rand() * len(_FIRST))
        last = int(rand() * len(_LAST))
        email = self._email(_FIRST_TOKENS[first], _LAST_TOKENS[last])
        if rand() < 0.03:
            first = -1
        known = self._known_accounts
        account = int(rand() * known) if known and rand() >= 0.05 else -1
        start = _SPAN_START + int(rand() * _SPAN)
        if modified_at is None:
            modified_at = min(start + int(rand() * _MAX_EDIT_GAP), MODIFIED_CAP)
        zone = _ZONES[int(rand() * len(_ZONES))]
        created = iso(start, int(rand() * 1000), zone)
        modified = iso(modified_at, int(rand() * 1000), zone)
        phone, score = self._phone(), self._lead_score()
        status, tags = int(rand() * len(_GOOD_STATUSES)), int(rand() * len(_TAG_SETS))
        opt_out = rand() < 0.15
        return (first, last, email, phone, account, created, modified, score, status, tags, opt_out)

    def _email(self, first: str, last: str) -> str:
        rand = self._rand
        address = f"{first}.{last}{int(rand() * 1000)}@{_DOMAINS[int(rand() * len(_DOMAINS))]}"
        style = rand()
        if style < 0.5:
            return address
        if style < 0.7:
            return address.upper()
        if style < 0.85:
            return f"  {address.lower()} "
        return address.lower()

    def _phone(self) -> str | None:
        rand = self._rand
        style = rand()
        if style < 0.1:
            return None
        area = _D3[200 + int(rand() * 800)]
        exchange, line = _D3[int(rand() * 1000)], _D4[int(rand() * 10_000)]
        if style < 0.5:
            return f"+1 ({area}) {exchange}-{line}"
        if style < 0.8:
            return f"{area}.{exchange}.{line}"
        return f"+44 20 {_D4[int(rand() * 10_000)]} {line}"

    def _lead_score(self) -> object:
        rand = self._rand
        style = rand()
        if style < 0.3:
            return int(rand() * 101)
        if style < 0.5:
            return round(rand() * 100, 2)
        if style < 0.6:
            return str(int(rand() * 101))
        if style < 0.7:
            return f"{int(rand() * 101)}.0"
        if style < 0.8:
            return f" {int(rand() * 101)} "
        return None if style < 0.9 else _ABSENT


def make_account(rng: random.Random, account_id: str) -> Record:
    """A good account: Name from :func:`company_name`, Industry null about 5% of the time."""
    rand = rng.random
    created = _SPAN_START + int(rand() * _SPAN)
    zone = _ZONES[int(rand() * len(_ZONES))]
    return {
        "Id": account_id,
        "Name": company_name(account_id),
        "Industry": INDUSTRIES[int(rand() * len(INDUSTRIES))] if rand() >= 0.05 else None,
        "CreatedDate": iso(created, int(rand() * 1000), zone),
    }


# --- spoiling ----------------------------------------------------------------------------------

_BAD_DATES: Final = (
    "05/04/2023 10:11", "2023-02-30T10:11:12.000+0000", "N/A", "2023-13-01T00:00:00Z",
    "yesterday", "2023-04-05T25:10:00Z",
)  # fmt: skip
_BAD_STATUSES: Final = ("Pending Review", "unknown", "DELETED", "N/A", "", "Actve")
_BAD_SCORES: Final = ("high", "N/A", "12abc", "--", "1,5", "seventy")


# Kinds whose records break one of two rules; the report counts each variant too, so a test
# can expect an exact count per rule (an absent Status is "required", an unknown one is not).
KIND_SPLITS: Final[dict[str, tuple[str, str]]] = {
    "invalid_date": ("invalid_created_at", "invalid_updated_at"),
    "invalid_status": ("missing_status", "unknown_status"),
    "lead_score_out_of_range": ("lead_score_below_min", "lead_score_above_max"),
}


class Spoiler:
    """Spoils a good record in exactly one way and says how.

    :meth:`contact` returns the kind, except for the kinds of :data:`KIND_SPLITS`, which
    return which of their variants they made (``invalid_date`` says which field it broke).
    ``malformed`` leaves the record alone: breaking the syntax is the writer's job.
    """

    def __init__(
        self, rng: random.Random, known_accounts: Sequence[str], *, empty_is_absent: bool = False
    ) -> None:
        self._rand = rng.random
        self._known = frozenset(known_accounts)
        # CSV writes an empty value and an absent one alike, so "" counts as absent there.
        self._empty_is_absent = empty_is_absent
        self._kinds: dict[str, Callable[[Record], str]] = {
            "missing_email": lambda record: self._blank(record, "Email", "missing_email"),
            "invalid_email": self._invalid_email,
            "invalid_date": self._invalid_date,
            "invalid_status": self._invalid_status,
            "invalid_lead_score": self._invalid_lead_score,
            "lead_score_out_of_range": self._lead_score_out_of_range,
            "unknown_account": self._unknown_account,
            "malformed": lambda record: "malformed",
        }

    def contact(self, record: Record, kind: str) -> str:
        return self._kinds[kind](record)

    def account(self, record: Record) -> str:
        return self._blank(record, "Name", "missing_name")

    def _pick(self, values: Sequence[str]) -> str:
        return values[int(self._rand() * len(values))]

    def _blank(self, record: Record, key: str, kind: str) -> str:
        """Leave ``key`` out, or set it to null, empty or spaces."""
        style = self._rand()
        if style < 0.25:
            del record[key]
        else:
            record[key] = None if style < 0.5 else ("" if style < 0.75 else "   ")
        return kind

    def _invalid_email(self, record: Record) -> str:
        local = str(record["Email"]).strip().split("@")[0]
        domain = self._pick(_DOMAINS)
        forms = (
            f"{local}@",
            f"{local.replace('.', ' ', 1)}@{domain}",
            f"{local}@@{domain}",
            domain,
            f"{local}@example",
            f"{local}.{domain}",
        )
        record["Email"] = self._pick(forms)
        return "invalid_email"

    def _invalid_date(self, record: Record) -> str:
        created = self._rand() < 0.5
        record["CreatedDate" if created else "LastModifiedDate"] = self._pick(_BAD_DATES)
        return "invalid_created_at" if created else "invalid_updated_at"

    def _invalid_status(self, record: Record) -> str:
        if self._rand() < 0.15:
            del record["Status"]
            return "missing_status"
        status = self._pick(_BAD_STATUSES)
        record["Status"] = status
        return "missing_status" if status == "" and self._empty_is_absent else "unknown_status"

    def _invalid_lead_score(self, record: Record) -> str:
        record["LeadScore"] = self._pick(_BAD_SCORES)
        return "invalid_lead_score"

    def _lead_score_out_of_range(self, record: Record) -> str:
        rand = self._rand
        above = rand() < 0.5
        magnitude = 101 + int(rand() * 900) if above else -1 - int(rand() * 100)
        style = rand()
        if style < 0.3:
            record["LeadScore"] = magnitude
        elif style < 0.5:
            record["LeadScore"] = magnitude + (0.5 if above else -0.5)
        else:
            record["LeadScore"] = self._pick((f"{magnitude}", f" {magnitude} ", f"{magnitude}.0"))
        return "lead_score_above_max" if above else "lead_score_below_min"

    def _unknown_account(self, record: Record) -> str:
        # The suffix differs from every id write_accounts makes, so the id exists nowhere.
        account_id = "001" + _b62_12(int(self._rand() * _ID_SPACE)) + "ZZZ"
        while account_id in self._known:  # only if a caller passed such ids in
            account_id = "001" + _b62_12(int(self._rand() * _ID_SPACE)) + "ZZZ"
        record["Account"] = {"Id": account_id, "Name": company_name(account_id)}
        return "unknown_account"
