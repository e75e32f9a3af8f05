"""Every --json shape matches its schema in bot.answer.contract, on real output of the CLI (fast tier)."""

from __future__ import annotations

import json

import jsonschema
import pytest
from click.testing import CliRunner

from bot.answer import contract
from bot.cli.app import cli

pytestmark = pytest.mark.fast


def run_json(fake_service, *args: str) -> list[dict]:
    result = CliRunner().invoke(cli, [*args, "--json"], obj={"settings": fake_service.settings,
                                                              "service": fake_service})
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_every_schema_is_a_valid_json_schema() -> None:
    for name in dir(contract):
        if name.endswith("_SCHEMA"):
            jsonschema.Draft202012Validator.check_schema(getattr(contract, name))


@pytest.mark.parametrize(("args", "schema"), [
    (("ask", "What did Crosetto say about troops?"), contract.ANSWER_SCHEMA),
    (("ask", "What is the capital of Australia?"), contract.ANSWER_SCHEMA),
    (("search", "troops in Ukraine"), contract.SEARCH_SCHEMA),
    (("timeline", "negotiations with Russia"), contract.TIMELINE_SCHEMA),
    (("source", "004_347bbc5789c47b0a"), contract.SOURCE_SCHEMA),
    (("sources",), contract.SOURCES_SCHEMA),
])
def test_cli_json_matches_its_schema(fake_service, args, schema) -> None:
    for payload in run_json(fake_service, *args):
        jsonschema.validate(payload, schema)


def test_an_index_report_matches_its_schema(fake_service) -> None:
    [payload] = run_json(fake_service, "index")
    jsonschema.validate(payload, contract.BUILD_REPORT_SCHEMA)
    assert payload["up_to_date"] is True


def test_every_declined_answer_names_its_rule_and_a_reason(fake_service) -> None:
    questions = ("What is the capital of Australia?", "What did Crosetto say about nuclear weapons?", "???",
                 "How many tanks has Italy sent to Ukraine?", "Who won the 2024 European football championship?")
    payloads = [run_json(fake_service, "ask", q)[0] for q in questions]
    for payload in payloads:
        jsonschema.validate(payload, contract.ANSWER_SCHEMA)
        if payload["answered"]:
            assert payload["declined"] is None
        else:
            assert payload["declined"]["rule"] in contract.RULES and payload["declined"]["reason"], payload
            assert payload["declined"]["reason"] in payload["answer"]
