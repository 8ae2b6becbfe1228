"""The ``guidecheck`` command line: thin commands over the library."""

from __future__ import annotations

import logging
import sys
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from . import PIPELINES_DIR, PROJECT_ROOT, __version__
from .model import MODELS_DIR
from .records import NoteDefaults, Record, RecordError, parse_codes_option, parse_date, read_records

app = typer.Typer(
    help="Check encounter records for the documentation that image-guided needle placement "
         "(CPT 76942, 77002) and fluoroscopy (76000) require.",
    no_args_is_help=True, add_completion=False,
)

EXIT_THRESHOLD = 1
EXIT_BAD_INPUT = 2


class Format(str, Enum):
    text = "text"
    json = "json"
    csv = "csv"


class Table(str, Enum):
    text = "text"
    json = "json"


class FailOn(str, Enum):
    fail = "fail"
    review = "review"


class Kind(str, Enum):
    procedure_note = "procedure_note"
    radiology_report = "radiology_report"
    other = "other"


Paths = Annotated[list[str], typer.Argument(help="Record files (.jsonl, .json, .txt), directories of them, or - for stdin.")]
Pipelines = Annotated[Path, typer.Option(help="Folder of rules and policies.", hidden=True)]
Models = Annotated[Path, typer.Option(help="Folder of the trained evidence model.", hidden=True)]
UseModel = Annotated[bool, typer.Option("--model/--no-model", help="Use the trained evidence model when models/ holds one; --no-model runs on rules alone.")]
ANNOTATED_DIR = PROJECT_ROOT / "annotated_notes"


def _checker(pipelines: Path, models: Path | None):
    """The checker, or a clear exit when the model on disk is not the one its card describes."""
    from .checker import Checker
    from .model import ModelError

    try:
        return Checker(pipelines, models)
    except ModelError as error:
        typer.echo(f"guidecheck: {error}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from error


def _version(value: bool) -> None:
    if value:
        typer.echo(f"guidecheck {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress (never note text).")] = False,
    version: Annotated[Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = None,
) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="guidecheck: %(message)s")


@app.command()
def check(
    paths: Paths,
    format: Annotated[Format, typer.Option("--format", "-f", help="text for people; json = JSON Lines per result.schema.json; csv = one row per record, code and criterion.")] = Format.text,
    fail_on: Annotated[Optional[FailOn], typer.Option(help="Exit 1 when any code's decision is this or worse (review includes fail).")] = None,
    codes: Annotated[Optional[str], typer.Option(help=".txt notes: claim lines, e.g. 77002,20610 (76942x2 for two units).")] = None,
    credential: Annotated[Optional[str], typer.Option(help=".txt notes: the provider's credential (MD, DO, NP, PA-C ...).")] = None,
    specialty: Annotated[Optional[str], typer.Option(help=".txt notes: the provider's specialty.")] = None,
    place_of_service: Annotated[Optional[str], typer.Option(help=".txt notes: two-digit place of service.")] = None,
    date_of_service: Annotated[Optional[str], typer.Option(help=".txt notes: date of service, YYYY-MM-DD (selects the policy version).")] = None,
    payer: Annotated[Optional[str], typer.Option(help=".txt notes: payer whose policy applies (default ASH).")] = None,
    kind: Annotated[Kind, typer.Option(help=".txt notes: document kind.")] = Kind.other,
    model: UseModel = True,
    pipelines: Pipelines = PIPELINES_DIR,
    models: Models = MODELS_DIR,
) -> None:
    """Check records and print, per record and code, the decision and the criteria that need attention."""
    from .report import csv_header, to_csv, to_json_line, to_text

    try:
        defaults = NoteDefaults(Record(
            id="", documents=(), codes=parse_codes_option(codes), credential=credential, specialty=specialty,
            place_of_service=place_of_service,
            date_of_service=parse_date(date_of_service) if date_of_service else None, payer=payer,
        ), kind=kind.value)
    except ValueError as error:
        raise typer.BadParameter(f"--codes or --date-of-service: {error}") from error
    checker = _checker(pipelines, models if model else None)
    render = {Format.text: to_text, Format.json: lambda r: to_json_line(r) + "\n", Format.csv: to_csv}[format]
    if format is Format.csv:
        sys.stdout.write(csv_header())
    worst = {"pass": 0, "review": 1, "fail": 2}
    threshold = {None: 3, FailOn.review: 1, FailOn.fail: 2}[fail_on]
    hit = errors = 0
    for result in checker.check_all(read_records(paths, defaults)):
        sys.stdout.write(render(result))
        errors += result.error is not None
        hit += any(worst[r.decision] >= threshold for r in result.results)
    if errors:
        logging.getLogger("guidecheck").warning("%d record(s) could not be checked", errors)
    if hit:
        raise typer.Exit(EXIT_THRESHOLD)
    if errors:
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command()
def explain(
    code: Annotated[str, typer.Argument(help="76000, 76942 or 77002.")],
    payer: Annotated[Optional[str], typer.Option(help="Payer (default ASH).")] = None,
    on: Annotated[Optional[str], typer.Option(help="Date the policy is in effect, YYYY-MM-DD (default today).")] = None,
    pipelines: Pipelines = PIPELINES_DIR,
) -> None:
    """Print a code's criteria with their kinds, citations and fix messages."""
    from .knowledge import load_knowledge
    from .policy import PolicyNotFound, load_policies, select_policies
    from .report import explain_text

    knowledge = load_knowledge(pipelines)
    try:
        chosen = select_policies(load_policies(knowledge.directory, set(knowledge.labels)), payer,
                                 date.fromisoformat(on) if on else None)
    except (PolicyNotFound, ValueError) as error:
        typer.echo(f"guidecheck: {error}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from error
    if code not in chosen:
        typer.echo(f"guidecheck: no policy for {code}; known: {', '.join(sorted(chosen))}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    typer.echo(explain_text(chosen[code]), nl=False)


@app.command()
def evaluate(
    paths: Annotated[list[str], typer.Argument(help="Annotated record files (with expected, and expected_evidence for spans) or directories of them.")],
    format: Annotated[Table, typer.Option("--format", "-f", help="text: tables for people; json: one object for scripts.")] = Table.text,
    errors: Annotated[int, typer.Option(help="How many disagreements to show in the text report, worst first.")] = 10,
    model: UseModel = True,
    pipelines: Pipelines = PIPELINES_DIR,
    models: Models = MODELS_DIR,
) -> None:
    """Compare the checker with gold annotations: decision accuracy, fail recall, pass precision,
    per-criterion and evidence-span precision and recall, and the records it got wrong."""
    import json

    from .policy import labels_in
    from .scoring import evaluate as score, evaluation_json, evaluation_text

    checker = _checker(pipelines, models if model else None)
    records, unread = [], []
    for item in read_records(paths):
        (unread if isinstance(item, RecordError) else records).append(item)
    for item in unread:
        typer.echo(f"guidecheck: {item}", err=True)
    labels = {c.id: tuple(labels_in(c.logic)) for policy in checker.policies for c in policy.criteria}
    evaluation = score(((r, checker.check(r)) for r in records), labels)
    if format is Table.json:
        typer.echo(json.dumps(evaluation_json(evaluation), indent=1))
    else:
        typer.echo(evaluation_text(evaluation, errors), nl=False)
    if unread:
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command()
def train(
    train: Annotated[list[Path], typer.Option("--train", help="Annotated records to learn from.")] = [ANNOTATED_DIR / "train.jsonl"],
    dev: Annotated[list[Path], typer.Option("--dev", help="Annotated records to measure on (never the test split).")] = [ANNOTATED_DIR / "dev.jsonl"],
    out: Annotated[Path, typer.Option(help="Where the model and its card go.")] = MODELS_DIR,
    pipelines: Pipelines = PIPELINES_DIR,
) -> None:
    """Rebuild the evidence model (fixed seed) from the train split and write it with its model card."""
    from .knowledge import load_knowledge
    from .training import TrainingError, train as fit_model

    try:
        card = fit_model(load_knowledge(pipelines), train, dev, out)
    except (TrainingError, OSError) as error:
        typer.echo(f"guidecheck: {error}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from error
    typer.echo(f"wrote {out / card['artifact']['file']} (sha256 {card['artifact']['sha256'][:12]}...) and its card")
    typer.echo(f"{'label':26}{'dev P':>8}{'dev R':>8}{'band':>6}{'brier':>8}")
    for label, m in card["dev_metrics"].items():
        typer.echo(f"{label:26}{m['precision_at_accept'] or '-':>8}{m['recall_at_accept'] or '-':>8}"
                   f"{m['in_uncertain_band']:>6}{m['brier'] or '-':>8}")
    for label, why in card["labels_left_out"].items():
        typer.echo(f"left out {label}: {why}")


@app.command()
def validate(paths: Paths) -> None:
    """Check records against record.schema.json without running the pipeline."""
    valid = invalid = 0
    for item in read_records(paths):
        if isinstance(item, RecordError):
            invalid += 1
            typer.echo(f"invalid: {item}")
        else:
            valid += 1
    typer.echo(f"{valid} valid, {invalid} invalid")
    if invalid:
        raise typer.Exit(EXIT_BAD_INPUT)
