"""Publishing: the GitHub Actions workflow runs the test command and, on a push to main, deploys the
built book (_build/html) to GitHub Pages. It cannot run here; it is validated against GitHub's workflow
schema (check-jsonschema's copy, offline) and read for what it does."""

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def test_workflows_match_githubs_schema():
    assert WORKFLOWS
    command = [
        Path(sys.executable).parent / "check-jsonschema",
        "--builtin-schema",
        "vendor.github-workflows",
        *WORKFLOWS,
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_workflow_tests_then_deploys_the_built_book_on_a_push_to_main():
    flow = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    triggers = flow[True] if True in flow else flow["on"]  # YAML 1.1 reads the key `on` as True
    assert triggers["push"]["branches"] == ["main"] and "pull_request" in triggers
    test, deploy = flow["jobs"]["test"], flow["jobs"]["deploy"]
    runs = " ".join(step.get("run", "") for step in test["steps"])
    assert "bash .ci/run" in runs and "python3 tasks.py test" in (ROOT / ".ci" / "run").read_text()
    upload = [s for s in test["steps"] if s.get("uses", "").startswith("actions/upload-pages-artifact@")]
    assert len(upload) == 1 and upload[0]["with"]["path"] == "_build/html"
    main_push = "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert upload[0]["if"] == main_push and deploy["if"] == main_push and deploy["needs"] == "test"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert [s["uses"].split("@")[0] for s in deploy["steps"]] == ["actions/deploy-pages"]
    assert "download.pytorch.org/whl/cpu" in test["env"]["PIP_EXTRA_INDEX_URL"]  # torch: the CPU build
