"""Users and what they keep: library (saved / hidden), tags, votes and collections (notes and reading states:
store/notes.py).

`AccountStore` shares the engine of a `SQLStore` (`store.accounts`); like the rest of `store/`, it is the
only code that reads or writes these tables. Password hashing is not done here: callers pass a hash.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from paperscope.errors import EmailTaken, InputError
from paperscope.limits import COLLECTION_DESCRIPTION, COLLECTION_NAME, DISPLAY_NAME, HANDLE, TAG, TIMEZONE
from paperscope.store.db import as_utc, inserted_id, upsert, utc_now, write_transaction
from paperscope.store.schema import (
    MAX_RECORD_ID,
    api_tokens,
    collection_papers,
    collections,
    feed_tokens,
    follows,
    library,
    notes,
    outbox,
    papers,
    sent_papers,
    signal_mixes,
    submissions,
    subscriptions,
    tags,
    unsubscribes,
    users,
    votes,
    web_sessions,
    webhooks,
)

LibraryState = Literal["saved", "hidden"]


@dataclass(frozen=True, slots=True)
class User:
    id: int
    email: str
    display_name: str | None
    timezone: str
    created_at: dt.datetime
    can_sign_in: bool
    handle: str = ""  # the name @mentions use
    is_admin: bool = False
    blocked: bool = False
    notify_email: str = "digest"  # off, digest or immediate: when replies and mentions are e-mailed


@dataclass(frozen=True, slots=True)
class Collection:
    id: int
    user_id: int
    name: str
    description: str
    public: bool
    created_at: dt.datetime
    size: int = 0


def normalise_email(email: str) -> str:
    """The stored form of an e-mail address, checked with email-validator (syntax only: no DNS look-up);
    InputError naming the field when it is not an address.

    The library's normalised form (Unicode domain names in NFC, lower-case domain), trimmed, and with the part
    before the @ lower-cased too: one account per mailbox however its owner capitalises it, and the form the
    users table has always held (every look-up lower-cases).
    """
    from email_validator import EmailNotValidError, validate_email

    cleaned = email.strip()
    try:
        checked = validate_email(cleaned, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InputError(f"E-mail address: {cleaned[:100]!r} is not an e-mail address ({exc}). Give one like "
                         "name@example.org.") from None
    return checked.normalized.lower()


def email_key(email: str) -> str:
    """The form of an address to look a user up by: its stored form, or (not an address, so no user has it)
    the trimmed, lower-cased text."""
    try:
        return normalise_email(email)
    except InputError:
        return email.strip().lower()


class AccountStore:
    """Database I/O for accounts. Every method runs in its own transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # Users ------------------------------------------------------------------------------------

    def create_user(self, email: str, *, password_hash: str | None = None, display_name: str | None = None,
                    timezone: str = "UTC") -> User:
        """Add a user; EmailTaken if the address is taken, InputError if it is malformed or a text is beyond its
        limit."""
        address = normalise_email(email)
        _check_profile(display_name=display_name, timezone=timezone)
        with write_transaction(self.engine) as conn:
            if conn.execute(sa.select(users.c.id).where(users.c.email == address)).first():
                raise EmailTaken(f"A user with e-mail {address} already exists.")
            first = conn.execute(sa.select(users.c.id).limit(1)).first() is None
            user_id = inserted_id(conn.execute(users.insert().values(
                email=address, password_hash=password_hash, display_name=display_name, timezone=timezone,
                created_at=utc_now(), handle=_free_handle(conn, address), is_admin=first)))
            return self._user(conn, users.c.id == user_id)  # type: ignore[return-value]

    def get_user(self, user_id: int) -> User | None:
        with self.engine.connect() as conn:
            return self._user(conn, users.c.id == user_id)

    def get_user_by_email(self, email: str) -> User | None:
        with self.engine.connect() as conn:
            return self._user(conn, users.c.email == email_key(email))

    def require_user(self, email: str) -> User:
        """The user with this address, or InputError saying how to create one."""
        user = self.get_user_by_email(email)
        if user is None:
            raise InputError(f"No user with e-mail {email.strip().lower()}: add one with "
                             f"`paperscope users add {email.strip()}`.")
        return user

    def list_users(self) -> list[User]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(users).order_by(users.c.id)).mappings().all()
        return [user_from_row(row) for row in rows]

    def password_hash(self, user_id: int) -> str | None:
        with self.engine.connect() as conn:
            hashed = conn.execute(sa.select(users.c.password_hash).where(users.c.id == user_id)).scalar()
        return str(hashed) if hashed is not None else None

    def update_user(self, user_id: int, **values: Any) -> None:
        """Change `password_hash`, `display_name` or `timezone`."""
        allowed = {"password_hash", "display_name", "timezone"}
        if unknown := set(values) - allowed:
            raise ValueError(f"cannot update {sorted(unknown)}")
        _check_profile(display_name=values.get("display_name"), timezone=values.get("timezone"))
        with write_transaction(self.engine) as conn:
            conn.execute(users.update().where(users.c.id == user_id).values(**values))

    def user_data(self, user_id: int) -> UserData:
        """How much the user keeps here, table by table (what `delete_user` would delete)."""
        with self.engine.connect() as conn:
            return _user_data(conn, user_id)

    def delete_user(self, user_id: int) -> UserData:
        """Delete the user and everything theirs (library, tags, votes, collections public or not, tokens,
        sessions, subscription, follows, submissions, digest records) in one transaction; returns what went.
        Papers stay: they belong to the site, also those the user submitted."""
        with write_transaction(self.engine) as conn:
            gone = _user_data(conn, user_id)
            for _, table in USER_TABLES:  # the user's rows first; the users row last
                conn.execute(table.delete().where(table.c.user_id == user_id))
            conn.execute(users.delete().where(users.c.id == user_id))
        return gone

    # Library: saved and hidden papers ---------------------------------------------------------

    def set_library_state(self, user_id: int, paper_ids: Iterable[str], state: LibraryState) -> int:
        """Save or hide papers for a user (one state replaces the other); returns how many changed."""
        ids = list(dict.fromkeys(paper_ids))
        with write_transaction(self.engine) as conn:
            _require_papers(conn, ids)
            current = dict(conn.execute(sa.select(library.c.paper_id, library.c.state).where(
                library.c.user_id == user_id, library.c.paper_id.in_(ids))).all())
            changed = [i for i in ids if current.get(i) != state]
            if changed:
                conn.execute(library.delete().where(library.c.user_id == user_id, library.c.paper_id.in_(changed)))
                now = utc_now()
                conn.execute(library.insert(), [dict(user_id=user_id, paper_id=i, state=state, created_at=now)
                                                for i in changed])
        return len(changed)

    def remove_from_library(self, user_id: int, paper_ids: Iterable[str]) -> int:
        """Forget saved or hidden marks; returns how many were removed."""
        with write_transaction(self.engine) as conn:
            return conn.execute(library.delete().where(library.c.user_id == user_id,
                                                       library.c.paper_id.in_(list(paper_ids)))).rowcount

    def library_ids(self, user_id: int, state: LibraryState = "saved") -> list[str]:
        """Paper ids the user saved (or hid), newest first."""
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(library.c.paper_id).where(
                library.c.user_id == user_id, library.c.state == state)
                .order_by(library.c.created_at.desc(), library.c.paper_id)).scalars())

    def library_states(self, user_id: int, paper_ids: Iterable[str]) -> dict[str, LibraryState]:
        """The state of each of these papers that the user saved or hid."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(library.c.paper_id, library.c.state).where(
                library.c.user_id == user_id, library.c.paper_id.in_(list(paper_ids)))).all()
        return {paper_id: state for paper_id, state in rows}

    # Tags -------------------------------------------------------------------------------------

    def add_tag(self, user_id: int, paper_id: str, tag: str) -> None:
        """Tag a paper (which also saves it to the library, as in arxiv-sanity)."""
        self.tag_papers(user_id, [paper_id], tag)

    def tag_papers(self, user_id: int, paper_ids: Iterable[str], tag: str) -> None:
        """Tag papers, which also saves them; an unknown id is an `InputError` before any paper is tagged."""
        name = TAG.check(tag.strip())
        ids = list(dict.fromkeys(paper_ids))
        self.set_library_state(user_id, ids, "saved")  # checks every id first
        with write_transaction(self.engine) as conn:
            tagged = set(conn.execute(sa.select(tags.c.paper_id).where(
                tags.c.user_id == user_id, tags.c.tag == name, tags.c.paper_id.in_(ids))).scalars())
            now = utc_now()
            new = [dict(user_id=user_id, paper_id=i, tag=name, created_at=now) for i in ids if i not in tagged]
            if new:
                conn.execute(tags.insert(), new)

    def remove_tag(self, user_id: int, paper_id: str, tag: str) -> bool:
        """Take a tag off a paper (the paper stays in the library); whether the paper had it."""
        with write_transaction(self.engine) as conn:
            return bool(conn.execute(tags.delete().where(tags.c.user_id == user_id, tags.c.paper_id == paper_id,
                                                         tags.c.tag == tag.strip())).rowcount)

    def tags_of(self, user_id: int) -> dict[str, list[str]]:
        """Each of the user's tags with its paper ids."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(tags.c.tag, tags.c.paper_id).where(tags.c.user_id == user_id)
                                .order_by(tags.c.tag, tags.c.created_at, tags.c.paper_id)).all()
        tagged: dict[str, list[str]] = {}
        for tag, paper_id in rows:
            tagged.setdefault(tag, []).append(paper_id)
        return tagged

    # Votes ------------------------------------------------------------------------------------

    def vote(self, user_id: int, paper_id: str, up: bool = True) -> bool:
        """Upvote (or withdraw the vote); returns whether anything changed. One vote per user per paper."""
        with write_transaction(self.engine) as conn:
            _require_papers(conn, [paper_id])
            voted = conn.execute(sa.select(votes.c.user_id).where(
                votes.c.user_id == user_id, votes.c.paper_id == paper_id)).first() is not None
            if up and not voted:
                conn.execute(votes.insert().values(user_id=user_id, paper_id=paper_id, created_at=utc_now()))
            elif not up and voted:
                conn.execute(votes.delete().where(votes.c.user_id == user_id, votes.c.paper_id == paper_id))
            return up != voted

    def vote_counts(self, paper_ids: Iterable[str]) -> dict[str, int]:
        """Local votes per paper (papers without votes are left out)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(votes.c.paper_id, sa.func.count()).where(
                votes.c.paper_id.in_(list(paper_ids))).group_by(votes.c.paper_id)).all()
        return {paper_id: int(n) for paper_id, n in rows}

    def voted_ids(self, user_id: int) -> list[str]:
        """Papers the user upvoted, newest first."""
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(votes.c.paper_id).where(votes.c.user_id == user_id)
                                     .order_by(votes.c.created_at.desc(), votes.c.paper_id)).scalars())

    # Recommendation signal mix -----------------------------------------------------------------

    def signal_mix(self, user_id: int) -> tuple[str, dict[str, Any]] | None:
        """(library key, mix) last stored for the user by `save_signal_mix`, None when there is none."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(signal_mixes.c.library_key, signal_mixes.c.mix)
                               .where(signal_mixes.c.user_id == user_id)).first()
        return (row.library_key, dict(row.mix)) if row is not None else None

    def signal_mixes(self) -> list[tuple[int, dict[str, Any]]]:
        """Every user's stored mix, as (user id, mix)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(signal_mixes.c.user_id, signal_mixes.c.mix)
                                .order_by(signal_mixes.c.user_id)).all()
        return [(row.user_id, dict(row.mix)) for row in rows]

    def save_signal_mix(self, user_id: int, library_key: str, mix: dict[str, Any]) -> None:
        """Keep the user's signal mix, chosen from the library whose digest is `library_key`."""
        with write_transaction(self.engine) as conn:
            conn.execute(upsert(conn, signal_mixes).values(user_id=user_id, library_key=library_key, mix=mix,
                                                           chosen_at=utc_now()))

    # Collections ------------------------------------------------------------------------------

    def create_collection(self, user_id: int, name: str, *, description: str = "", public: bool = False
                          ) -> Collection:
        """A new collection of the user's; InputError names a field beyond its limit or a name in use."""
        cleaned = COLLECTION_NAME.check(name.strip())
        COLLECTION_DESCRIPTION.check(description)
        with write_transaction(self.engine) as conn:
            if conn.execute(sa.select(collections.c.id).where(collections.c.user_id == user_id,
                                                             collections.c.name == cleaned)).first():
                raise InputError(f"You already have a collection named {cleaned!r}.")
            collection_id = inserted_id(conn.execute(collections.insert().values(
                user_id=user_id, name=cleaned, description=description, public=public, created_at=utc_now())))
        collection = self.get_collection(collection_id, viewer_id=user_id)
        assert collection is not None
        return collection

    def get_collection(self, collection_id: int, *, viewer_id: int | None) -> Collection | None:
        """The collection if the viewer may see it (its owner, or anyone when it is public and its owner is not
        blocked); else None."""
        if not 0 <= collection_id <= MAX_RECORD_ID:
            return None
        with self.engine.connect() as conn:
            found = self._collections(conn, collections.c.id == collection_id)
            shown = found and (found[0].user_id == viewer_id
                               or (found[0].public and not _blocked(conn, found[0].user_id)))
        return found[0] if shown else None

    def list_collections(self, user_id: int, *, viewer_id: int | None) -> list[Collection]:
        """A user's collections that the viewer may see (another user's public ones, unless the owner is blocked)."""
        condition = collections.c.user_id == user_id
        if viewer_id != user_id:
            owner_blocked = sa.select(users.c.id).where(users.c.id == user_id, users.c.blocked_at.is_not(None))
            condition = sa.and_(condition, collections.c.public.is_(True), ~owner_blocked.exists())
        with self.engine.connect() as conn:
            return self._collections(conn, condition)

    def collection_paper_ids(self, collection_id: int, *, viewer_id: int | None) -> list[str] | None:
        """Paper ids of a collection the viewer may see, oldest addition first; None if it is not visible."""
        if self.get_collection(collection_id, viewer_id=viewer_id) is None:
            return None
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(collection_papers.c.paper_id)
                                     .where(collection_papers.c.collection_id == collection_id)
                                     .order_by(collection_papers.c.added_at, collection_papers.c.paper_id))
                        .scalars())

    def add_to_collection(self, collection_id: int, paper_ids: Iterable[str], *, owner_id: int) -> int:
        """Add papers to the owner's collection; InputError if it is not theirs. Returns how many were new."""
        ids = list(dict.fromkeys(paper_ids))
        with write_transaction(self.engine) as conn:
            self._require_owner(conn, collection_id, owner_id)
            _require_papers(conn, ids)
            present = set(conn.execute(sa.select(collection_papers.c.paper_id).where(
                collection_papers.c.collection_id == collection_id,
                collection_papers.c.paper_id.in_(ids))).scalars())
            new = [i for i in ids if i not in present]
            if new:
                now = utc_now()
                conn.execute(collection_papers.insert(),
                             [dict(collection_id=collection_id, paper_id=i, added_at=now) for i in new])
        return len(new)

    def remove_from_collection(self, collection_id: int, paper_ids: Iterable[str], *, owner_id: int) -> int:
        with write_transaction(self.engine) as conn:
            self._require_owner(conn, collection_id, owner_id)
            return conn.execute(collection_papers.delete().where(
                collection_papers.c.collection_id == collection_id,
                collection_papers.c.paper_id.in_(list(paper_ids)))).rowcount

    def update_collection(self, collection_id: int, *, owner_id: int, **values: Any) -> None:
        """Change `name`, `description` or `public` of the owner's collection."""
        if unknown := set(values) - {"name", "description", "public"}:
            raise ValueError(f"cannot update {sorted(unknown)}")
        if "name" in values:
            values["name"] = COLLECTION_NAME.check(values["name"].strip())
        COLLECTION_DESCRIPTION.check(values.get("description", ""))
        with write_transaction(self.engine) as conn:
            self._require_owner(conn, collection_id, owner_id)
            conn.execute(collections.update().where(collections.c.id == collection_id).values(**values))

    def delete_collection(self, collection_id: int, *, owner_id: int) -> None:
        with write_transaction(self.engine) as conn:
            self._require_owner(conn, collection_id, owner_id)
            conn.execute(collections.delete().where(collections.c.id == collection_id))

    # Helpers ----------------------------------------------------------------------------------

    @staticmethod
    def _user(conn: Connection, condition: sa.ColumnElement[bool]) -> User | None:
        row = conn.execute(sa.select(users).where(condition)).mappings().first()
        return user_from_row(row) if row else None

    @staticmethod
    def _collections(conn: Connection, condition: sa.ColumnElement[bool]) -> list[Collection]:
        size = (sa.select(sa.func.count()).where(collection_papers.c.collection_id == collections.c.id)
                .scalar_subquery())
        rows = conn.execute(sa.select(collections, size.label("size")).where(condition)
                            .order_by(collections.c.name)).mappings().all()
        return [Collection(id=r["id"], user_id=r["user_id"], name=r["name"], description=r["description"],
                           public=bool(r["public"]), created_at=as_utc(r["created_at"]), size=int(r["size"]))
                for r in rows]

    @staticmethod
    def _require_owner(conn: Connection, collection_id: int, owner_id: int) -> None:
        owner = (conn.execute(sa.select(collections.c.user_id).where(collections.c.id == collection_id)).scalar()
                 if 0 <= collection_id <= MAX_RECORD_ID else None)
        if owner is None or owner != owner_id:
            raise InputError(f"There is no collection {collection_id} of yours.")


#: What a user keeps here, by the name a person reads, each with its table (rows with the user's user_id).
USER_TABLES: tuple[tuple[str, sa.Table], ...] = (
    ("saved or hidden papers", library), ("tags", tags), ("votes", votes), ("collections", collections),
    ("API tokens", api_tokens), ("sign-in sessions", web_sessions), ("digest subscriptions", subscriptions),
    ("follows", follows), ("submissions", submissions), ("papers sent in digests", sent_papers),
    ("digest messages", outbox), ("unsubscribes", unsubscribes), ("private feed tokens", feed_tokens),
    ("private notes", notes), ("recommendation signal mixes", signal_mixes),
    ("webhooks", webhooks))  # after the outbox, whose webhook messages refer to them


@dataclass(frozen=True, slots=True)
class UserData:
    """Rows of each kind a user keeps (`USER_TABLES` names), and the names of their public collections, which
    other people may be reading."""

    counts: dict[str, int]
    public_collections: list[str]


def _user_data(conn: Connection, user_id: int) -> UserData:
    counts = {name: int(conn.execute(sa.select(sa.func.count()).select_from(table)
                                     .where(table.c.user_id == user_id)).scalar_one())
              for name, table in USER_TABLES}
    public = list(conn.execute(sa.select(collections.c.name).where(
        collections.c.user_id == user_id, collections.c.public.is_(True)).order_by(collections.c.name)).scalars())
    return UserData(counts, public)


def _check_profile(*, display_name: str | None, timezone: str | None) -> None:
    """InputError naming the field when a display name or time zone is beyond its limit."""
    if display_name is not None:
        DISPLAY_NAME.check(display_name)
    if timezone is not None:
        TIMEZONE.check(timezone)


def _blocked(conn: Connection, user_id: int) -> bool:
    """Whether a moderator blocked the user: their public collections are shown to nobody else meanwhile."""
    return conn.execute(sa.select(users.c.blocked_at).where(users.c.id == user_id)).scalar() is not None


def _require_papers(conn: Connection, paper_ids: list[str]) -> None:
    if not paper_ids:
        return
    known = set(conn.execute(sa.select(papers.c.id).where(papers.c.id.in_(paper_ids))).scalars())
    if missing := [i for i in paper_ids if i not in known]:
        raise InputError(f"Unknown paper id(s): {', '.join(missing[:5])}. Ingest the papers first "
                         "(paperscope ingest ...), or check the ids (arXiv ids without a version, e.g. 2503.11731).")


def user_from_row(row: Any) -> User:
    """The User of a `users` row."""
    return User(id=row["id"], email=row["email"], display_name=row["display_name"], timezone=row["timezone"],
                created_at=as_utc(row["created_at"]), can_sign_in=row["password_hash"] is not None,
                handle=row["handle"] or "", is_admin=bool(row["is_admin"]), blocked=row["blocked_at"] is not None,
                notify_email=row["notify_email"])


def handle_base(email: str) -> str:
    """The handle an address suggests: its local part in lower case, letters, digits and underscores only."""
    return re.sub(r"[^a-z0-9_]", "", email.split("@", 1)[0].lower())[:HANDLE.max_length - 6] or "user"


def _free_handle(conn: Connection, email: str) -> str:
    """A handle no user has: the address's own, followed by a number where that is taken."""
    base = handle_base(email)
    taken = set(conn.execute(sa.select(users.c.handle).where(users.c.handle.like(f"{base}%"))).scalars())
    number = 1
    handle = base
    while handle in taken:
        number += 1
        handle = f"{base}{number}"
    return handle
