"""A print run: fresh codes, PDFs of at most 5,000 ballots, the layout and the manifest.

Order of events, so that nothing printed is unknown to the store and no file is
overwritten: check every target name → reserve the serial range (audit entry) →
render each file to a `.partial` name in a process pool → per file, one transaction
issues its codes (as HMACs) → rename the file into place → layout and manifest.
Codes live only in memory and in the PDFs.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from forms.compose import BallotComposer, BallotPlan
from forms.letter import ENVELOPE, LetterComposer, LetterPlan
from forms.pdf_render import BallotPdf
from hybrid import audit
from hybrid.codes import new_code
from hybrid.definition import Process
from hybrid.errors import InvalidInput, StoreProblem
from hybrid.store import Store, now_utc
from hybrid.worker_pool import worker_pool

BALLOTS_PER_FILE = 5000
MANIFEST_FORMAT = "hybrid-print-manifest/1"


@dataclass(frozen=True)
class PrintRequest:
    count: int
    lang: str
    large_print: bool = False
    output: Path | None = None
    addresses: list[list[str]] | None = None
    replaces: tuple[int, ...] = ()  # serials this run replaces (`print --replace`)


@dataclass(frozen=True)
class PrintedFile:
    path: Path
    ballots: int
    first_serial: int
    last_serial: int
    pages: int
    sha256: str


@dataclass
class PrintResult:
    run_id: int
    layout_hash: str
    layout_id: str
    pages_per_ballot: int
    files: list[PrintedFile] = field(default_factory=list)
    layout_path: Path | None = None
    manifest_path: Path | None = None
    letter_layout_hash: str | None = None
    letter_pages: int = 0

    @property
    def ballots(self) -> int:
        return sum(f.ballots for f in self.files)


@dataclass(frozen=True)
class _FileJob:
    partial: Path
    plan: BallotPlan
    title: str
    ballots: list[tuple[int, str, list[str] | None]]  # serial, code, address
    letter: LetterPlan | None = None  # the cover letter of an addressed run


def output_names(base: Path, count: int) -> list[Path]:
    """`FILE.pdf`, or `FILE-001.pdf` … when the run needs more than one file."""
    files = -(-count // BALLOTS_PER_FILE)
    if files == 1:
        return [base]
    stem = base.with_suffix("")
    return [stem.parent / f"{stem.name}-{i:03d}.pdf" for i in range(1, files + 1)]


def sidecar(base: Path, kind: str) -> Path:
    return base.with_suffix("").parent / f"{base.with_suffix('').name}.{kind}.json"


def _check_targets(base: Path, count: int) -> list[Path]:
    if base.suffix.lower() != ".pdf":
        raise InvalidInput(f"{base}: the output name must end in .pdf")
    names = output_names(base, count)
    targets = names + [sidecar(base, "layout"), sidecar(base, "manifest")]
    try:
        existing = [str(p) for p in targets if p.exists() or p.with_name(p.name + ".partial").exists()]
    except OSError as exc:  # e.g. a name too long for the filesystem
        raise InvalidInput(f"{base}: cannot use this output name ({exc.strerror})") from None
    if existing:
        raise InvalidInput(f"{existing[0]}: already exists; hybrid never overwrites a print file. Choose another -o name")
    parent = base.parent
    if not parent.is_dir():
        raise InvalidInput(f"{parent}: the output folder does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InvalidInput(f"{parent}: the output folder is not writable")
    return names


def _render_file(job: _FileJob) -> tuple[Path, int, str]:
    """Worker: write one PDF; returns (partial path, pages, sha256). Pure but for the file."""
    with BallotPdf(job.partial, job.plan, job.title, job.letter) as pdf:
        for serial, code, address in job.ballots:
            pdf.add_ballot(serial, code, address)
    digest = hashlib.sha256()
    with job.partial.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    letter_pages = len(job.letter.pages) if job.letter else 0
    return job.partial, len(job.ballots) * (len(job.plan.pages) + letter_pages), digest.hexdigest()


def _fresh_codes(store: Store, count: int, code_source: Callable[[], str]) -> list[str]:
    """`count` distinct codes none of which the store has issued before."""
    codes: list[str] = []
    seen: set[str] = set()
    while len(codes) < count:
        code = code_source()
        if code in seen or store.code_hash_exists(store.code_hash(code)):
            continue
        seen.add(code)
        codes.append(code)
    return codes


def default_output(out_dir: Path, lang: str, large_print: bool, first_serial: int, purpose: str) -> Path:
    variant = lang + ("-large" if large_print else "")
    return out_dir / f"{purpose}-{variant}-{first_serial:06d}.pdf"


def run_print(
    store: Store,
    process: Process,
    request: PrintRequest,
    out_dir: Path,
    progress: Callable[[int], None] = lambda n: None,
    workers: int | None = None,
    code_source: Callable[[], str] = new_code,
) -> PrintResult:
    """Print `request.count` ballots; see the module docstring for the order of events."""
    if request.count < 1:
        raise InvalidInput("--count must be at least 1")
    if request.lang not in process.languages:
        raise InvalidInput(f"--lang {request.lang}: the process is in {', '.join(process.languages)} only")
    if request.addresses is not None and len(request.addresses) != request.count:
        raise InvalidInput(f"--count {request.count} but the address file has {len(request.addresses)} addresses")
    if not process.is_test and process.privacy is None:
        raise InvalidInput("process.yaml: privacy: a live process needs its data-protection notice before printing "
                           "(controller, officer, print_shop; see `hybrid init --example poll`)")
    plan = BallotComposer(process, request.lang, request.large_print).compose()
    letter = LetterComposer(process, request.lang, request.large_print).compose() if request.addresses else None
    layout = plan.layout
    purpose = "replacement" if request.replaces else "ballots"
    if request.output is None:
        out_dir.mkdir(parents=True, exist_ok=True)
        base = default_output(out_dir, request.lang, request.large_print, store.next_serial(), purpose)
    else:
        base = request.output
    names = _check_targets(base, request.count)

    with store.transaction():
        store.conn.lock("serials")  # two print runs at once never share serials
        first = store.next_serial()
        last = first + request.count - 1
        store.save_layout(layout)
        if letter is not None:
            store.save_layout(letter.layout)  # so that scan recognises a returned letter
        run_id = store.start_print_run(first, last, layout.layout_hash, purpose)
        audit.append(store, "print_run", {
            "run_id": run_id, "first_serial": first, "last_serial": last, "count": request.count,
            "layout_hash": layout.layout_hash, "layout_id": layout.layout_id, "language": request.lang,
            "large_print": request.large_print, "addressed": request.addresses is not None,
            "replaces": list(request.replaces),
        })

    codes = _fresh_codes(store, request.count, code_source)
    title = process.text(process.title, request.lang)
    jobs: list[_FileJob] = []
    for i, name in enumerate(names):
        lo = i * BALLOTS_PER_FILE
        hi = min(lo + BALLOTS_PER_FILE, request.count)
        ballots = [(first + j, codes[j], request.addresses[j] if request.addresses else None) for j in range(lo, hi)]
        jobs.append(_FileJob(name.with_name(name.name + ".partial"), plan, title, ballots, letter))

    result = PrintResult(run_id, layout.layout_hash, layout.layout_id, len(plan.pages),
                         letter_layout_hash=letter.layout.layout_hash if letter else None,
                         letter_pages=len(letter.pages) if letter else 0)
    try:
        for job, (partial, pages, sha) in zip(jobs, _render_all(jobs, workers)):
            final = partial.with_name(partial.name.removesuffix(".partial"))
            serials = [(serial, store.code_hash(code)) for serial, code, _ in job.ballots]
            with store.transaction():
                taken = store.issue_ballots(run_id, layout.layout_hash, serials)
                if taken:
                    raise StoreProblem(f"serial {taken[0]} or its code is already taken: is another print running?")
                if request.replaces:
                    for old, (new, _) in zip(request.replaces, serials):
                        store.void_ballot(old, "replaced", replaced_by=new)
                audit.append(store, "print_file", {
                    "run_id": run_id, "file": final.name, "sha256": sha, "ballots": len(job.ballots),
                    "first_serial": job.ballots[0][0], "last_serial": job.ballots[-1][0], "pages": pages,
                    "replaced": [{"old": o, "new": n} for o, (n, _) in zip(request.replaces, serials)],
                })
            os.replace(partial, final)
            result.files.append(PrintedFile(final, len(job.ballots), job.ballots[0][0], job.ballots[-1][0], pages, sha))
            progress(len(job.ballots))
    except OSError as exc:
        raise InvalidInput(f"{exc.filename or base.parent}: cannot write the print file ({exc.strerror}); "
                           f"serials {first}–{last} stay reserved and unused") from None
    finally:
        for job in jobs:
            job.partial.unlink(missing_ok=True)

    result.layout_path = sidecar(base, "layout")
    result.layout_path.write_text(layout.to_json(), encoding="utf-8")
    result.manifest_path = sidecar(base, "manifest")
    result.manifest_path.write_text(json.dumps(_manifest(process, request, result), ensure_ascii=False, indent=2),
                                    encoding="utf-8")
    return result


def _render_all(jobs: list[_FileJob], workers: int | None) -> Iterator[tuple[Path, int, str]]:
    with worker_pool(min(workers or os.cpu_count() or 1, len(jobs))) as pool:
        yield from pool.map(_render_file, jobs)


def _manifest(process: Process, request: PrintRequest, result: PrintResult) -> dict:
    return {
        "format": MANIFEST_FORMAT,
        "process": process.id,
        "run_id": result.run_id,
        "created_at": now_utc(),
        "layout_hash": result.layout_hash,
        "layout_id": result.layout_id,
        "language": request.lang,
        "large_print": request.large_print,
        "duplex": True,
        "print_instructions": {
            "de": "A4, Druckgröße 100 % (nicht „an Seite anpassen“), beidseitig (lange Kante), "
                  "Schwarz auf weißem Papier ≥ 80 g/m², nicht heften über Markierungen.",
            "en": "A4, print at 100 % (no 'fit to page'), duplex (long edge), black on white paper ≥ 80 g/m², "
                  "no staples over the marks.",
        },
        "handling": {
            "de": "Die PDFs sind die einzige Kopie der Codes: nach Übergabe an die Druckerei löschen.",
            "en": "The PDFs are the only copy of the codes: delete them after the hand-over to the print shop.",
        },
        "pages_per_ballot": result.pages_per_ballot,
        "cover_letter": None if result.letter_layout_hash is None else {
            "layout_hash": result.letter_layout_hash,
            "pages": result.letter_pages,
            "envelope": ENVELOPE,
            "order": {
                "de": "Je Person: zuerst das Anschreiben (Adresse im Fenster), dahinter die Blätter des Stimmzettels "
                      "und ein Rückumschlag C4. Nicht falten. Anschreiben und Stimmzettel gehören zusammen in einen "
                      "Umschlag; die Seitenfolge im PDF ist die Reihenfolge.",
                "en": "Per person: the cover letter first (address in the window), then the ballot's sheets and a "
                      "C4 return envelope. Do not fold. Letter and ballot go into one envelope; the PDF's page "
                      "order is the order.",
            },
        },
        "ballots": result.ballots,
        "first_serial": result.files[0].first_serial if result.files else None,
        "last_serial": result.files[-1].last_serial if result.files else None,
        "replaces": list(request.replaces),
        "addressed": request.addresses is not None,
        "files": [
            {"file": f.path.name, "ballots": f.ballots, "first_serial": f.first_serial, "last_serial": f.last_serial,
             "pages": f.pages, "sha256": f.sha256}
            for f in result.files
        ],
        "layout_file": result.layout_path.name if result.layout_path else None,
    }
