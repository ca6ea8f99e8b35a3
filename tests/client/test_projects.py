"""Projects without Qt: names and folder names against hostile input, the project list on disk,
the store's migration 5 from a version-4 database, moving takes, the lineage walk, presets of a
project, and a take submitted on a real sandbox while a project is chosen (it is stored with
it from the start and its result lands in the project's sub-folder)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from app.client import store as store_module
from app.client.presets import Presets
from app.client.projects import (
    MAX_FOLDER_BYTES,
    ProjectError,
    Projects,
    check_name,
    folder_name,
    is_safe_folder,
    safe_folder,
)
from app.client.store import JobRecord, JobStore
from app.client.workfolder import project_dir
from client.helpers import PROMPT_ONLY, Harness, run

RESERVED = {"CON", "PRN", "AUX", "NUL", "COM1", "LPT1"}


@pytest.mark.parametrize("name", ["../x", "a/b", "a\\b", "..", ".", "x" * 10_000, "CON",
                                  "con.mp4", "nul", "COM1", "LPT9.txt", "🎬 Night shoot 🌙",
                                  " spaced  out ", "a:b*c?d", "tab\there", "\ud800half",
                                  "trailing dot.", "///", "é" * 200])
def test_a_folder_name_is_safe_whatever_the_name(name):
    folder = safe_folder(name)
    assert folder and is_safe_folder(folder)
    assert "/" not in folder and "\\" not in folder and "\x00" not in folder
    assert folder not in (".", "..") and not folder.startswith((".", " "))
    assert not folder.endswith((".", " "))
    assert len(folder.encode("utf-8")) <= MAX_FOLDER_BYTES
    assert folder.split(".")[0].upper() not in RESERVED
    assert all(ord(c) >= 32 and not 0xD800 <= ord(c) <= 0xDFFF for c in folder)
    assert safe_folder(folder) == folder  # stable: a kept id checks as safe again


def test_folder_names_never_collide_even_case_insensitively():
    taken: list[str] = []
    for name in ["Film", "film", "FILM", "a/b", "a_b", "a:b", "x" * 500, "x" * 501]:
        folder = folder_name(name, taken)
        assert folder.casefold() not in {t.casefold() for t in taken}
        taken.append(folder)
    assert taken[:3] == ["Film", "film 2", "FILM 3"]
    assert all(len(t.encode()) <= MAX_FOLDER_BYTES for t in taken)
    assert not is_safe_folder("../x") and not is_safe_folder("a/b") and \
        not is_safe_folder("") and not is_safe_folder(None) and not is_safe_folder("CON")
    assert project_dir(__import__("pathlib").Path("/w"), "../x").as_posix() == "/w"
    assert project_dir(__import__("pathlib").Path("/w"), "Film").as_posix() == "/w/Film"


def test_project_names_are_checked_and_the_list_kept(tmp_path):
    for bad, words in [("", "needs a name"), ("   ", "needs a name"), (None, "needs a name"),
                       ("a\x00b", "NUL"), ("x" * 10_000, "at most 80"),
                       ("bell\x07", "control")]:
        with pytest.raises(ProjectError, match=words):
            check_name(bad)
    assert check_name("  Night   shoot ") == "Night shoot"
    projects = Projects(tmp_path / "projects.json")
    assert projects.all() == [] and projects.current() == ""
    a = projects.create("../Film")
    assert (a.id, a.name) == ("_Film", "../Film")
    with pytest.raises(ProjectError, match="already"):
        projects.create("../FILM")  # names are unique case-insensitively
    b = projects.create("_Film")  # another name, the same safe folder: its own folder
    assert b.id == "_Film 2"
    projects.set_current(b.id)
    assert Projects(tmp_path / "projects.json").current() == b.id  # kept on disk
    renamed = projects.rename(b.id, "Trailer")
    assert (renamed.id, renamed.name) == (b.id, "Trailer")  # the folder stays
    with pytest.raises(ProjectError, match="already"):
        projects.rename(a.id, "trailer")
    assert projects.find("TRAILER") == renamed and projects.find("_Film") == a
    with pytest.raises(ProjectError, match="does not exist"):
        projects.set_current("nope")
    assert projects.delete(b.id) and not projects.delete(b.id)
    assert projects.current() == ""  # the chosen one was deleted: no project
    assert [p.name for p in projects.all()] == ["../Film"]
    # a damaged or hostile file reads as what is valid in it, nothing outside the folder
    (tmp_path / "projects.json").write_text(json.dumps({"projects": [
        {"id": "../etc", "name": "evil"}, {"id": "ok", "name": "Ok"}, "junk",
        {"id": "OK", "name": "dup"}], "current": "../etc"}))
    assert [p.id for p in projects.all()] == ["ok"] and projects.current() == ""
    (tmp_path / "projects.json").write_text("{not json")
    assert projects.all() == []


def test_presets_belong_to_a_project_or_to_all(tmp_path):
    presets = Presets(tmp_path / "presets.json")
    presets.save("look", "seedance_r2v", {"prompt": "global"})
    presets.save("look", "seedance_r2v", {"prompt": "film"}, project="Film")
    presets.save("only film", "seedance_r2v", {"prompt": "f"}, project="Film")
    presets.save("trailer", "seedance_r2v", {"prompt": "t"}, project="Trailer")
    film = presets.all("seedance_r2v", project="Film")
    assert sorted((p.name, p.project) for p in film) == [
        ("look", ""), ("look", "Film"), ("only film", "Film")]
    assert sorted(p.name for p in presets.all("seedance_r2v", project="")) == ["look"]
    assert len(presets.all()) == 4
    assert presets.delete("look", "seedance_r2v", project="Film")
    assert [p.payload["prompt"] for p in presets.all(project="Film") if p.name == "look"] == \
        ["global"]
    assert presets.rename("trailer", "seedance_r2v", "cut", project="Trailer").project == \
        "Trailer"


def _v4_store(path):
    """A store exactly as version 4 of the code left it, with takes in it."""
    db = sqlite3.connect(path)
    db.executescript(store_module._SCHEMA)
    for step in store_module._MIGRATIONS[:4]:
        for statement in filter(str.strip, step.split(";")):
            db.execute(statement)
    db.execute("PRAGMA user_version = 4")
    for i in range(3):
        db.execute("INSERT INTO jobs (id, model_id, payload, idempotency_key, status, "
                   "created_at, parent_id, name) VALUES (?, 'seedance_r2v', '{}', ?, "
                   "'succeeded', ?, ?, ?)", (f"t{i}", f"k{i}", i, f"t{i - 1}" if i else None,
                                             f"take {i}"))
    db.commit()
    db.close()


def test_a_version_4_store_migrates_and_takes_move_between_projects(tmp_path):
    path = tmp_path / "jobs.sqlite3"
    _v4_store(path)
    with _open(path) as s:
        assert s._db.execute("PRAGMA user_version").fetchone()[0] == \
            store_module.SCHEMA_VERSION == 5
        assert [r.project for r in s.query()] == ["", "", ""]
        assert s.get("t1").name == "take 1" and s.get("t2").parent_id == "t1"
        plan = s._db.execute("EXPLAIN QUERY PLAN SELECT id FROM jobs WHERE project = ? AND "
                             "deleted = 0 ORDER BY created_at DESC", ("Film",)).fetchall()
        assert "jobs_project" in str(plan)  # the filter is indexed
        moved = s.move_to_project(["t0", "t2", "missing", "t0"], "Film")
        assert sorted(r.id for r in moved) == ["t0", "t2"] and \
            all(r.project == "Film" for r in moved)
        assert [r.id for r in s.query(project="Film")] == ["t2", "t0"]
        assert [r.id for r in s.query(project="")] == ["t1"]
        assert s.count(project="Film") == 2 and s.count() == 3
        assert s.count(project="Film", ids=["t0", "t1"]) == 1
        with pytest.raises(ValueError):
            s.move_to_project(["t1"], "a\x00b")
        new = s.add(JobRecord.new("seedance_r2v", {"prompt": "x"}, project="Trailer"))
        assert s.get(new.id).project == "Trailer"
        assert s.drop_project("Film") == 2 and s.count(project="") == 3
    with _open(path) as s:  # opened again: nothing to migrate, nothing lost
        assert s.count() == 4 and s.get(new.id).project == "Trailer"


class _open:  # a context manager that closes the store
    def __init__(self, path):
        self.store = JobStore(path)

    def __enter__(self):
        return self.store

    def __exit__(self, *exc):
        self.store.close()


def test_the_lineage_walks_a_chain_and_a_branch_both_ways_bounded(tmp_path):
    with _open(tmp_path / "jobs.sqlite3") as s:
        def take(parent=None, **kw):
            return s.add(JobRecord.new("seedance_r2v", {"prompt": "p"}, parent_id=parent,
                                       **kw)).id

        a = take()
        b = take(a)
        c = take(b)
        d = take(b)  # a branch under b
        e = take(d)
        other = take()
        gone = take(c)
        s.delete(gone, keep_row=True)
        below = take(gone)  # made from a deleted take: still its lineage
        assert set(s.lineage(b)) == {a, b, c, d, e, below}
        assert set(s.lineage(e)) == {a, b, d, e}  # its ancestors; not the sibling branch
        assert other not in s.lineage(a) and s.lineage(other) == [other]
        assert s.lineage("missing") == []
        assert set(s.lineage(a, depth=1)) == {a, b}
        assert len(s.lineage(a, size=3)) == 3
        # a cycle (damaged data) is walked once
        s.update(a, parent_id=e)
        assert set(s.lineage(c)) == {a, b, c, d, e, below}
        got = s.query(ids=s.lineage(c))
        assert {r.id for r in got} == {a, b, c, d, e, below}
        # a long chain is read to its bound, quickly
        chain = [take()]
        for _ in range(200):
            chain.append(take(chain[-1]))
        assert len(s.lineage(chain[100])) == 1 + 64 + 64


def test_a_take_sent_in_a_project_is_stored_with_it_and_lands_in_its_folder(sandbox,
                                                                             tmp_path):
    async def main() -> None:
        async with Harness(sandbox, tmp_path) as h:
            h.manager.project = "Film 2"
            seen: list[str] = []
            h.manager.subscribe(lambda r: seen.append(r.project))
            rec = await h.manager.submit("seedance_r2v", PROMPT_ONLY)
            stored = h.store.get(rec.id)
            assert stored.project == "Film 2" and seen[0] == "Film 2"  # from the first row
            rec = await h.manager.wait(rec.id)
            assert rec.result_path == str((h.work / "Film 2" / "lighthouse.mp4").resolve())
            assert (h.work / "Film 2" / "lighthouse.mp4").stat().st_size > 0
            h.manager.project = "../escape"  # not a safe folder name: the work folder itself
            rec = await h.manager.wait((await h.manager.submit(
                "seedance_r2v", {**PROMPT_ONLY, "out": "second.mp4"})).id)
            assert rec.result_path == str((h.work / "second.mp4").resolve())

    run(main())


@pytest.mark.parametrize("content", [
    b"", b'{"projects": [{"id": "A", "name": "A"}', b"\x00\xff\xfe garbage",
    b"[" * 100_000, b'{"projects": "nope", "current": 5}',
    b'{"projects": [{"id": "../../etc", "name": "x"}, {"id": 7, "name": []}, null, 3]}',
    json.dumps({"projects": [{"id": "A", "name": "A"}, {"id": "a", "name": "dup"}],
                "current": "A"}).encode(),
])
def test_a_damaged_project_file_reads_as_what_is_sound_and_stays_usable(tmp_path, content):
    path = tmp_path / "projects.json"
    path.write_bytes(content)
    projects = Projects(path)
    items = projects.all()
    assert all(is_safe_folder(p.id) for p in items)
    assert len({p.id.casefold() for p in items}) == len(items)  # no two share a folder
    assert projects.current() in ("", *(p.id for p in items))
    made = projects.create("Fresh")  # and a new project can still be made over it
    assert projects.get(made.id) == made


def test_a_fifo_as_the_project_file_reads_as_empty_without_hanging(tmp_path):
    import os

    path = tmp_path / "projects.json"
    os.mkfifo(path)
    assert Projects(path).all() == [] and Projects(path).current() == ""


@pytest.mark.parametrize("project", [None, 5, b"bytes", "a\x00b", "x" * 10_000, ["A"]])
def test_moving_takes_to_a_bad_project_is_refused_and_changes_nothing(tmp_path, project):
    store = JobStore(tmp_path / "jobs.sqlite3")
    try:
        rec = JobRecord.new("seedance_r2v", {"prompt": "p"})
        store.add(rec)
        with pytest.raises(ValueError):
            store.move_to_project([rec.id], project)
        assert store.get(rec.id).project == ""
    finally:
        store.close()


def test_a_damaged_project_on_a_take_never_leads_outside_the_work_folder(tmp_path):
    root = tmp_path / "work"
    for bad in ("../../etc", "/etc", "..", "a/b", "CON", "x\x00y"):
        assert project_dir(root, bad) == root
    assert project_dir(root, "Client A") == root / "Client A"
