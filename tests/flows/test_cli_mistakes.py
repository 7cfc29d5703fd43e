"""A newcomer's mistakes with the batch commands: each is one line on stderr and exit code 2,
or, where the input is merely unusual, a file that now exists and says so."""
from __future__ import annotations

import json
from pathlib import Path

from flows.demo import where_to_look
from flows.rate_file import rate_file
from tests.flows.test_cli import one_error_line, revguard


def rate_args(small_dir: Path, output: Path, **paths: Path) -> list[str]:
    args = {"--catalog": small_dir / "catalog.yaml", "--subscribers": small_dir / "subscribers.csv",
            "--input": small_dir / "network.ndjson", "--output": output}
    args.update({f"--{k}": v for k, v in paths.items()})
    return ["rate", *(str(x) for pair in args.items() for x in pair)]


def test_output_in_a_missing_directory_is_one_line_and_exit_2(small_dir: Path, tmp_path: Path) -> None:
    result = revguard(*rate_args(small_dir, tmp_path / "missing-dir" / "o.ndjson"))
    assert result.returncode == 2
    assert "missing-dir" in one_error_line(result)


def test_output_equal_to_input_is_refused_and_the_input_kept(small_dir: Path) -> None:
    network = small_dir / "network.ndjson"
    before = network.read_bytes()
    result = revguard(*rate_args(small_dir, small_dir / "." / "network.ndjson"))
    assert result.returncode == 2
    assert "--input" in one_error_line(result)
    assert network.read_bytes() == before


def test_output_equal_to_the_catalog_is_refused(small_dir: Path) -> None:
    result = revguard(*rate_args(small_dir, small_dir / "catalog.yaml"))
    assert result.returncode == 2
    assert "--catalog" in one_error_line(result)


def test_empty_input_writes_an_empty_output_and_counts_in_0(small_dir: Path, tmp_path: Path) -> None:
    (small_dir / "network.ndjson").write_bytes(b"")
    output = tmp_path / "rated.ndjson"
    result = revguard(*rate_args(small_dir, output))
    assert result.returncode == 0, result.stderr
    assert output.read_bytes() == b""
    assert any(line.split() == ["in", "0"] for line in result.stdout.splitlines())


def test_malformed_adjustments_reach_the_rejects_file_with_reason_and_line(small_dir: Path, tmp_path: Path) -> None:
    adjustments = small_dir / "adjustments.ndjson"
    adjustments.write_text(adjustments.read_text() + '{"adjustment_id": "a3", "amount": "x"\n'
                           + json.dumps({"adjustment_id": "a4", "msisdn": "447900000002", "amount": "1.00",
                                         "time": "2026-11-03T09:30:00Z", "kind": "gift"}) + "\n")
    output = tmp_path / "rated.ndjson"
    result = revguard(*rate_args(small_dir, output, adjustments=adjustments))
    assert result.returncode == 0, result.stderr
    rejects = [json.loads(line) for line in (tmp_path / "rated.rejects.ndjson").read_text().splitlines()]
    assert [(r["stream"], r["source"], r["reason"]) for r in rejects] == [
        ("adjustments", "adjustments.ndjson:3", "bad_json"),
        ("adjustments", "adjustments.ndjson:4", "bad_kind"),
    ]
    assert rejects[1]["raw"].startswith('{"adjustment_id": "a4"')
    assert "rated.rejects.ndjson" in result.stdout


def test_rejects_file_equal_to_an_input_is_refused(small_dir: Path, tmp_path: Path) -> None:
    result = revguard(*rate_args(small_dir, tmp_path / "o.ndjson", adjustments=small_dir / "adjustments.ndjson",
                                 rejects=small_dir / "adjustments.ndjson"))
    assert result.returncode == 2
    assert "--rejects" in one_error_line(result)


def test_a_lone_carriage_return_ends_no_adjustment_line_as_it_ends_no_record_line(small_dir: Path, tmp_path: Path) -> None:
    # Two objects joined by "\r" are one line for the records' reader; the adjustments'
    # reader must count the same file the same way: 2 lines, the joined one malformed.
    first, second = (small_dir / "adjustments.ndjson").read_text().splitlines()
    joined = small_dir / "joined.ndjson"
    joined.write_bytes(f"{first}\n{first[:-1]}, \"x\": 1}}\r{second}\n".encode())
    counts = rate_file(small_dir / "catalog.yaml", small_dir / "subscribers.csv", small_dir / "network.ndjson",
                       tmp_path / "o.ndjson", adjustments=joined, rejects=tmp_path / "r.ndjson")
    assert (counts["adjustments_in"], counts["adjustments_rejected"]) == (2, 1)
    assert json.loads((tmp_path / "r.ndjson").read_text())["source"] == "joined.ndjson:2"


def test_time_without_an_offset_is_refused_naming_the_option(tmp_path: Path) -> None:
    result = revguard("reconcile", "--from", "2026-11-01T00:00:00", home=tmp_path)
    assert result.returncode == 2
    line = one_error_line(result)
    assert "--from" in line and "offset" in line


def test_reconcile_on_a_home_without_a_store_names_the_demos_store_and_creates_none(
        small_dir: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    loaded = revguard("load", str(small_dir), home=home / "demo")  # where `revguard demo` keeps its store
    assert loaded.returncode == 0, loaded.stderr
    result = revguard("reconcile", home=home)
    assert result.returncode == 2
    assert f"REVGUARD_HOME={home / 'demo'}" in one_error_line(result)
    assert not (home / "chdb").exists()


def test_reconcile_on_an_empty_store_says_it_is_empty(tmp_path: Path) -> None:
    migrated = revguard("clickhouse", "migrate", home=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    result = revguard("reconcile", home=tmp_path)
    assert result.returncode == 2
    assert "holds no usage records" in one_error_line(result)


def test_yaml_syntax_error_in_the_catalog_names_line_and_column(small_dir: Path, tmp_path: Path) -> None:
    (small_dir / "catalog.yaml").write_text("currency: EUR\nplans:\n  - id: A\n   bad: [1\n")
    result = revguard(*rate_args(small_dir, tmp_path / "o.ndjson"))
    assert result.returncode == 2
    assert "line 4, column 4" in one_error_line(result)


def test_demo_closing_block_keeps_every_line_whole_at_any_width() -> None:
    from rich.console import Console

    block = where_to_look(Path("/a/long/home/for/the/demo/sim"), Path("/a/long/home/for/the/demo/sim/d.ndjson"),
                          Path("/a/long/home/for/the/demo"), on_path=True)
    console = Console(width=40, record=True, file=open("/dev/null", "w"))
    console.print(block, soft_wrap=True, markup=False, highlight=False)
    assert console.export_text() == block + "\n"
    command = [line for line in block.splitlines() if "revguard rate" in line or line.startswith("    --")]
    assert all(line.endswith(" \\") for line in command[:-1])  # continued lines paste as one command


def test_demo_closing_block_says_how_to_reach_revguard_when_it_is_not_on_path() -> None:
    block = where_to_look(Path("/d/sim"), Path("/d/sim/f.ndjson"), Path("/d"), on_path=False)
    assert "/bin/activate" in block and "not on your PATH" in block
    assert "not on your PATH" not in where_to_look(Path("/d/sim"), Path("/d/sim/f.ndjson"), Path("/d"), on_path=True)
