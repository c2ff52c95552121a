"""Reading the outputs: hostile files and contract violations stop the run with exit 2 and one clear message, before
any AWS call or network traffic; a real outputs file parses into the target the checks use."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scripts.verify.__main__ import main
from scripts.verify.outputs import load_outputs, parse_outputs
from stack_outputs import MAX_FILE_BYTES
from scripts.verify.report import VerifyError

REPO = Path(__file__).resolve().parents[3]
SAMPLES = REPO / "tests" / "data"


class NoAws:
    """A boto3 session stand-in that fails the test if the run gets as far as AWS."""

    def client(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the run reached AWS with bad outputs")


def sample(name: str = "dev") -> dict[str, Any]:
    return json.loads((SAMPLES / f"outputs.{name}.sample.json").read_text())


def run_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, *extra: str) -> tuple[int, str, str]:
    path = tmp_path / "outputs.json"
    path.write_bytes(content)
    code = main(["--outputs", str(path), *extra], session=NoAws())  # type: ignore[arg-type]
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("content, message", [
    (b"", "is not valid JSON (Expecting value at line 1, column 1)"),
    (b"Updating (dev)\n{\"vpc_id\": 1}", "is not valid JSON"),
    (b'{"aws_region": "us-east-1",}', "is not valid JSON"),
    (b"\xff\xfe{\x00}\x00", "is not UTF-8 text (byte 0)"),
    (b'{"a": "caf\xe9"}', "is not UTF-8 text (byte 10)"),
    (b"[" * 100_000 + b"]" * 100_000, "nests values far deeper than stack outputs do"),
    (b'{"a": ' * 50_000 + b"1" + b"}" * 50_000, "nests values far deeper than stack outputs do"),
    (b'{"a": ' * 40 + b"1" + b"}" * 40, "nests values more than 32 levels deep"),
    (b'{"n": ' + b"9" * 5000 + b"}", "holds an integer with 5000 digits"),
    (b'{"n": -' + b"9" * 101 + b"}", "holds an integer with 101 digits"),
    (b'{"n": NaN}', "holds NaN, which is not a JSON value"),
    (b'{"vpc_id": "vpc-1", "vpc_id": "vpc-2"}', 'has the key "vpc_id" twice in one object'),
    (b"[1, 2]", "must hold a JSON object of stack outputs, not an array"),
    (b'"outputs"', "must hold a JSON object of stack outputs, not a string"),
    (b"null", "must hold a JSON object of stack outputs, not null"),
])
def test_hostile_files_exit_2_with_a_clear_message(tmp_path, capsys, content, message):
    code, out, err = run_file(tmp_path, capsys, content)
    assert code == 2
    assert out == ""
    assert err.startswith(f"verify could not run: The outputs file {tmp_path / 'outputs.json'} {message}")
    assert err.rstrip().endswith(". Write it with `pulumi stack output --json --show-secrets --stack <stack> > "
                                 "outputs.json`; redirect only stdout, so CLI messages do not end up in it.")
    assert "Traceback" not in err


def test_a_file_larger_than_any_outputs_is_not_read_whole(tmp_path, capsys):
    code, _, err = run_file(tmp_path, capsys, b" " * (MAX_FILE_BYTES + 1))
    assert code == 2 and "is larger than 4 MiB" in err


def test_a_directory_missing_file_and_unreadable_file(tmp_path, capsys):
    assert main(["--outputs", str(tmp_path)]) == 2
    assert f"The outputs file {tmp_path} is a directory, not a file. Write it with" in capsys.readouterr().err
    assert main(["--outputs", str(tmp_path / "absent.json")]) == 2
    assert "absent.json does not exist. Write it with `pulumi stack output --json" in capsys.readouterr().err
    if os.geteuid() != 0:  # root reads any file
        locked = tmp_path / "locked.json"
        locked.write_text("{}")
        locked.chmod(0)
        assert main(["--outputs", str(locked)]) == 2
        assert "locked.json cannot be read (Permission denied)" in capsys.readouterr().err


def test_json_flag_prints_the_error_document_on_stdout(tmp_path, capsys):
    code, out, err = run_file(tmp_path, capsys, b"{", "--json")
    assert code == 2
    document = json.loads(out)
    assert document["status"] == "error" and document["exit_code"] == 2
    assert "is not valid JSON" in document["error"] and "is not valid JSON" in err


def test_a_byte_order_mark_is_accepted():
    raw = load_outputs("-", io.BytesIO(b"\xef\xbb\xbf" + json.dumps(sample()).encode()))
    assert parse_outputs(raw).host == "bwaxeytqdd.us-east-1.vpce.aws.clickhouse.cloud"


def test_the_shipped_samples_parse_into_targets():
    dev = parse_outputs(sample("dev"))
    assert (dev.url, dev.host, dev.https_port) == (
        "https://bwaxeytqdd.us-east-1.vpce.aws.clickhouse.cloud:8443",
        "bwaxeytqdd.us-east-1.vpce.aws.clickhouse.cloud", 8443)
    assert (dev.user, dev.account_id, dev.region, dev.vpc_id, dev.vpc_endpoint_id) == (
        "default", "111122223333", "us-east-1", "vpc-0d7117d9ea3957c54", "vpce-0f6b338679639818b")
    assert dev.byoc is None
    prod = parse_outputs(sample("prod"))
    assert prod.byoc is not None
    assert (prod.byoc.vpc_id, prod.byoc.record_name) == ("vpc-0e79ac9aca8d7f7d3", "clickhouse.prod.byoc.internal")
    before_phase_3 = sample("prod")
    del before_phase_3["byoc"]["clickhouse_record_name"]
    assert parse_outputs(before_phase_3).byoc.record_name is None


def without(key: str) -> dict[str, Any]:
    outputs = sample()
    del outputs[key]
    return outputs


def changed(**values: Any) -> dict[str, Any]:
    return {**sample(), **values}


HOST = "bwaxeytqdd.us-east-1.vpce.aws.clickhouse.cloud"


@pytest.mark.parametrize("outputs, message", [
    (without("aws_region"), "required output 'aws_region' is missing"),
    (without("clickhouse_url"), "required output 'clickhouse_url' is missing"),
    (without("private_dns_hostname"), "required output 'private_dns_hostname' is missing"),
    (without("clickhouse_user"), "required output 'clickhouse_user' is missing"),
    (without("clickhouse_password_secret_arn"), "required output 'clickhouse_password_secret_arn' is missing"),
    (without("vpc_id"), "required output 'vpc_id' is missing"),
    (without("vpc_endpoint_id"), "required output 'vpc_endpoint_id' is missing"),
    (changed(vpc_id=42), "output 'vpc_id' must be a non-empty string, got a number 42"),
    (changed(clickhouse_user=["default"]), "output 'clickhouse_user' must be a non-empty string, got an array"),
    (changed(clickhouse_user="  "), "output 'clickhouse_user' must be a non-empty string"),
    (changed(vpc_id="subnet-0d7117d9ea3957c54"), "output 'vpc_id' must be a VPC ID (vpc-...)"),
    (changed(vpc_endpoint_id="vpce-xyz"), "output 'vpc_endpoint_id' must be a VPC endpoint ID (vpce-...)"),
    (changed(aws_region="US East"), "output 'aws_region' must be an AWS region name"),
    (changed(clickhouse_password_secret_arn="[secret]"), "is masked as [secret]; add --show-secrets"),
    (changed(clickhouse_password_secret_arn="arn:aws:kms:us-east-1:111122223333:key/1"),
     "output 'clickhouse_password_secret_arn' must be a Secrets Manager secret ARN"),
    (changed(clickhouse_password_secret_arn="arn:aws:secretsmanager:eu-west-1:111122223333:secret:x-AbCdEf"),
     "is in region eu-west-1, but 'aws_region' is us-east-1"),
    (changed(private_dns_hostname="10.0.0.1", clickhouse_url="https://10.0.0.1:8443"),
     "output 'private_dns_hostname' must be a DNS name"),
    (changed(private_dns_hostname="bad_host.example.com"), "output 'private_dns_hostname' must be a DNS name"),
    (changed(clickhouse_url=f"http://{HOST}:8443"), "output 'clickhouse_url' must be an https:// URL"),
    (changed(clickhouse_url=f"https://{HOST}"), "output 'clickhouse_url' must be an https:// URL"),
    (changed(clickhouse_url=f"https://default:pw@{HOST}:8443"), "output 'clickhouse_url' must be an https:// URL"),
    (changed(clickhouse_url=f"https://{HOST}:8443/play"), "output 'clickhouse_url' must be an https:// URL"),
    (changed(clickhouse_url=f"https://{HOST}:99999"), "output 'clickhouse_url' must be an https:// URL"),
    (changed(clickhouse_url="https://[::1:8443"), "output 'clickhouse_url' must be an https:// URL"),
    (changed(clickhouse_url="https://example.com:8443"),
     "output 'clickhouse_url' names host 'example.com', but 'private_dns_hostname' is"),
    (changed(byoc=["vpc-0e79ac9aca8d7f7d3"]), "output 'byoc' must be an object, got an array"),
    (changed(byoc={"clickhouse_record_name": "clickhouse.prod.byoc.internal"}), "required output 'byoc.vpc_id'"),
    (changed(byoc={"vpc_id": "vpc-0e79ac9aca8d7f7d3", "clickhouse_record_name": "*.internal"}),
     "output 'byoc.clickhouse_record_name' must be a DNS name"),
])
def test_outputs_that_break_the_contract_name_the_key(tmp_path, capsys, outputs, message):
    code, out, err = run_file(tmp_path, capsys, json.dumps(outputs).encode())
    assert code == 2 and out == ""
    assert message in err
    assert "Traceback" not in err


def test_a_long_bad_value_is_shortened_in_the_message():
    with pytest.raises(VerifyError) as caught:
        parse_outputs(changed(vpc_id="x" * 10_000))
    assert len(str(caught.value)) < 400


def test_the_command_reads_standard_input_and_survives_hostile_input_without_a_traceback():
    """The real entry point, as a pipeline runs it: `... | python -m scripts.verify --outputs -`."""
    for payload in (b"\x00\xff garbage", b"[" * 200_000):
        done = subprocess.run([sys.executable, "-m", "scripts.verify", "--outputs", "-"], input=payload, cwd=REPO,
                              capture_output=True, timeout=60)
        assert done.returncode == 2
        assert done.stderr.startswith(b"verify could not run: Standard input ")
        assert b"Traceback" not in done.stderr


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as caught:
        main([])
    assert caught.value.code == 2
    with pytest.raises(SystemExit) as caught:
        main(["--outputs", "x.json", "--timeout", "0"])
    assert caught.value.code == 2
    assert "is not between 0 and 60 seconds" in capsys.readouterr().err
