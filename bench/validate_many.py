"""How long `isthmus validate` takes on a large project: 10 templates and 200 integrations.

    .venv/bin/python bench/validate_many.py [--templates N] [--integrations N]

The project is the demo's core model and its crm-contacts template copied as N templates
(crm-0 … crm-9, each its own name), with integrations spread evenly over them, each
overriding a stream path as a real tenant would. The figure is the median of 5 of loading
the project and validating it, in this process (imports excluded), and the project must
validate without errors.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

from isthmus.config import load_project
from isthmus.validation import validate_project

REPEATS = 5


def write_project(root: Path, templates: int, integrations: int) -> None:
    files = resources.files("isthmus.demo") / "files"
    for name in ("isthmus.yaml", "core/account.yaml", "core/customer.yaml"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text((files / name).read_text(encoding="utf-8"), encoding="utf-8")
    source = (files / "templates/crm-contacts-2.1.0.yaml").read_text(encoding="utf-8")
    (root / "templates").mkdir()
    for t in range(templates):
        text = source.replace("template: crm-contacts", f"template: crm-{t}", 1)
        (root / f"templates/crm-{t}-2.1.0.yaml").write_text(text, encoding="utf-8")
    for i in range(integrations):
        tenant = f"tenant{i:03d}"
        folder = root / "integrations" / tenant
        folder.mkdir(parents=True)
        (folder / "crm.yaml").write_text(
            f"integration: {tenant}-crm\n"
            f"tenant: {tenant}\n"
            f"template: crm-{i % templates}@^2\n"
            "owner: {team: onboarding, contact: onboarding@example.com}\n"
            "escalation: [{after: 1h, team: integrations-core, contact: oncall@example.com}]\n"
            f"connection: {{root: data/{tenant}}}\n"
            "overrides:\n"
            "  streams: {contacts: {path: contacts.csv}}\n",
            encoding="utf-8",
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--templates", type=int, default=10)
    parser.add_argument("--integrations", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="isthmus-validate-") as folder:
        root = Path(folder)
        write_project(root, args.templates, args.integrations)
        times = []
        for _ in range(REPEATS):
            started = time.perf_counter()
            found = validate_project(load_project(root))
            times.append(time.perf_counter() - started)
            errors = [d for d in found if d.is_error]
            if errors:
                print(f"the project does not validate: {errors[0].message}")
                return 1
    print(
        f"{args.integrations} integrations over {args.templates} templates: "
        f"load and validate in {statistics.median(times):.2f} s (median of {REPEATS})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
