"""The teacher's review of the class's corrections: which, from whom, how many; approve or reject.

    python -m webapp.review corrections/                      # list what is pending, by client
    python -m webapp.review corrections/ approve --all        # every pending one
    python -m webapp.review corrections/ approve ID... | --from ADDRESS
    python -m webapp.review corrections/ reject  ID... | --from ADDRESS | --all

Approved corrections are written to corrections/approved/ (<id>.28.png and <id>.json), the
only ones `train.py --extra corrections/` reads. A rejected one stays counted against its
sender's quota, so sending it again changes nothing. Run it as the server's user: the
folder is private to it (checked as the server checks it).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from pathlib import Path

from serving.state import StateError

from .corrections import APPROVED, check_folder, connect


def pending(db: sqlite3.Connection, ids: list[str], sender: str | None, every: bool) -> list[tuple]:
    """(id, label, client, at, request_id, image) of the pending corrections chosen."""
    rows = db.execute(
        "SELECT id, label, client, at, request_id, image FROM corrections WHERE state = 'pending' ORDER BY at"
    ).fetchall()
    return [r for r in rows if every or r[0] in ids or (sender is not None and r[2] == sender)]


def show(db: sqlite3.Connection) -> None:
    rows = pending(db, [], None, True)
    states = dict(db.execute("SELECT state, count(*) FROM corrections GROUP BY state").fetchall())
    print(
        f"{states.get('pending', 0)} pending, {states.get('approved', 0)} approved, "
        f"{states.get('rejected', 0)} rejected"
    )
    by_client: dict[str, list[tuple]] = {}
    for row in rows:
        by_client.setdefault(row[2], []).append(row)
    for client, own in sorted(by_client.items(), key=lambda item: -len(item[1])):
        labels = ", ".join(
            f"{d}×{sum(r[1] == d for r in own)}" for d in range(10) if any(r[1] == d for r in own)
        )
        print(f"\n{client}: {len(own)} pending (labels {labels})")
        for row in own:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(row[3]))
            print(f"  {row[0]}  label {row[1]}  {when}  answer {row[4] or '-'}")


def approve(db: sqlite3.Connection, folder: Path, rows: list[tuple]) -> None:
    """Write each to approved/ (image, then its record: a half-written one is never read), mark it."""
    out = folder / APPROVED
    out.mkdir(mode=0o700, exist_ok=True)
    for name, label, client, at, request_id, image in rows:
        (out / f"{name}.28.png").write_bytes(image)
        stored = time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(at))
        record = {"label": label, "stored": stored, "request_id": request_id, "client": client}
        (out / f"{name}.json").write_text(json.dumps(record))
        db.execute("UPDATE corrections SET state = 'approved' WHERE id = ?", (name,))


def reject(db: sqlite3.Connection, rows: list[tuple]) -> None:
    db.executemany(
        "UPDATE corrections SET state = 'rejected', image = NULL WHERE id = ?", [(r[0],) for r in rows]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m webapp.review", description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="the server's CORRECTIONS folder")
    parser.add_argument("action", nargs="?", choices=("list", "approve", "reject"), default="list")
    parser.add_argument("ids", nargs="*", help="corrections by id (as listed)")
    parser.add_argument("--from", dest="sender", help="every pending correction of this client address")
    parser.add_argument("--all", action="store_true", help="every pending correction")
    args = parser.parse_args(argv)
    try:
        folder = check_folder(args.folder)
    except (StateError, OSError) as err:
        sys.exit(f"Error: {err}")
    db = connect(folder)
    if args.action == "list":
        show(db)
        return 0
    if not (args.ids or args.sender or args.all):
        parser.error(f"{args.action}: name the corrections (ids), --from ADDRESS or --all")
    rows = pending(db, args.ids, args.sender, args.all)
    db.execute("BEGIN IMMEDIATE")
    if args.action == "approve":
        approve(db, folder, rows)
    else:
        reject(db, rows)
    db.execute("COMMIT")
    print(
        f"{len(rows)} {args.action}d" + (f" (into {folder / APPROVED})" if args.action == "approve" else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
