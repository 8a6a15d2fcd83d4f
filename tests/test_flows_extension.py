"""Custom flows: their own texts, versions, steps from the config, and the reference.

The README's examples (tests/test_readme_examples.py) run the happy path end to end;
these are the mistakes a shop can make, each caught at load with a message naming it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.config import WarmlineConfig, load_config
from bot.errors import ConfigError
from bot.i18n import Catalog
from flows.config import flows_config
from flows.definition import PLAYBOOK, load_flows
from flows.plugins import prepare_flows
from flows.steps import StepRegistry

FLOW = """\
name: {name}
version: {version}
order: 5
title: A note after each order
trigger: order
steps:
  - id: note
    do: {do}
    text: {text}
"""


def shop(tmp_path: Path, flow: str, texts: dict[str, str], config: str = "") -> Path:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "note.yaml").write_text(flow, encoding="utf-8")
    for lang, text in texts.items():
        (flows / "locales" / lang).mkdir(parents=True)
        (flows / "locales" / lang / "shop.yaml").write_text(text, encoding="utf-8")
    path = tmp_path / "config.yaml"
    path.write_text(
        "knowledge: {enabled: false}\nflows:\n  directories: [flows]\n" + config, encoding="utf-8"
    )
    return path


def prepare(path: Path) -> dict[str, object]:
    config = load_config(path, env={})
    return dict(prepare_flows(config, Catalog(), StepRegistry()))


def test_a_missing_text_key_fails_at_load_naming_the_key_and_the_file(tmp_path: Path) -> None:
    flow = FLOW.format(name="note", version=1, do="message", text="shop.typo")
    path = shop(tmp_path, flow, {"en": "shop: {note: Thanks!}\n", "zh": "shop: {note: 谢谢！}\n"})
    with pytest.raises(ConfigError) as caught:
        prepare(path)
    assert str(caught.value) == (
        f"{tmp_path / 'flows' / 'note.yaml'}: step note: text: text key 'shop.typo' is in no "
        "catalog (bot/i18n/locales, or locales/<lang>/*.yaml beside the flow)"
    )
    result = CliRunner().invoke(cli, ["config", "check", "-c", str(path)])
    assert result.exit_code == 2 and "'shop.typo'" in result.output


def test_own_texts_load_beside_the_flow_and_the_default_language_is_needed(
    tmp_path: Path,
) -> None:
    flow = FLOW.format(name="note", version=1, do="message", text="shop.note")
    path = shop(tmp_path, flow, {"zh": "shop: {note: 谢谢！}\n"})
    with pytest.raises(ConfigError, match=r"'shop\.note' has no text in en .*only in zh"):
        prepare(path)
    catalog = Catalog()
    config = load_config(path, env={})
    config.bot.default_language = "zh"
    prepare_flows(config, catalog := Catalog(default="zh"), StepRegistry())
    assert catalog.t("zh", "shop.note") == "谢谢！"


def test_keys_missing_in_one_language_of_a_flow_folder_are_named(tmp_path: Path) -> None:
    flow = FLOW.format(name="note", version=1, do="message", text="shop.note")
    texts = {"en": "shop: {note: Thanks!, extra: More}\n", "zh": "shop: {note: 谢谢！}\n"}
    with pytest.raises(
        ConfigError, match=r"keys missing in some languages: \{'zh': \['shop.extra'\]\}"
    ):
        prepare(shop(tmp_path, flow, texts))


def test_the_higher_version_of_a_flow_runs(tmp_path: Path) -> None:
    greeting = (PLAYBOOK / "1_greeting.yaml").read_text(encoding="utf-8")
    newer = tmp_path / "newer"
    newer.mkdir()
    (newer / "greeting.yaml").write_text(
        greeting.replace("version: 1", "version: 2").replace("title: ", "title: Newer "),
        encoding="utf-8",
    )
    flows = load_flows([newer])
    assert flows["greeting"].version == 2 and flows["greeting"].title.startswith("Newer ")
    assert flows["greeting"].source == str(newer / "greeting.yaml")
    older = tmp_path / "older"
    older.mkdir()
    (older / "greeting.yaml").write_text(greeting.replace("title: ", "title: Older "))
    assert load_flows([older, newer])["greeting"].version == 2  # order does not matter
    assert load_flows([newer, older])["greeting"].version == 2
    with pytest.raises(ConfigError) as caught:
        load_flows([older])  # v1 against the playbook's v1
    assert str(caught.value) == (
        f"{older / 'greeting.yaml'}: flow greeting v1 is also defined in "
        f"{PLAYBOOK / '1_greeting.yaml'}; give the one that should run a higher version"
    )
    assert sorted(f.version for f in load_flows([older, newer]).values())[-1] == 2


def test_steps_named_in_the_config_are_registered_and_listed(tmp_path: Path) -> None:
    flow = FLOW.format(name="note", version=1, do="thank_buyer", text="shop.note")
    texts = {"en": "shop: {note: 'Thanks, {name}!'}\n"}
    steps = tmp_path / "shop_steps.py"
    steps.write_text(
        "from flows.steps import StepRegistry\n"
        "def register(steps: StepRegistry) -> None:\n"
        "    @steps.action('thank_buyer')\n"
        "    async def thank_buyer(run):\n"
        '        """Thank the buyer; params.tone picks the wording."""\n'
        "        return await run.push(run.t(run.step.text), 'after_sales')\n",
        encoding="utf-8",
    )
    path = shop(tmp_path, flow, texts, "  steps: [shop_steps.py]\n")
    assert "note" in prepare(path)
    result = CliRunner().invoke(cli, ["flows", "actions", "-c", str(path)])
    assert result.exit_code == 0, result.output
    assert "- `thank_buyer`: Thank the buyer; params.tone picks the wording." in result.output
    assert "- `offer_eligible`: " in result.output and "- `cadence`: " in result.output
    config = load_config(path, env={})
    assert flows_config(config).steps == [f"{tmp_path / 'shop_steps.py'}"]


def test_a_step_module_that_does_not_import_is_named_by_its_key(tmp_path: Path) -> None:
    config = WarmlineConfig.model_validate({"flows": {"steps": ["no_such_shop.steps"]}})
    with pytest.raises(ConfigError, match=r"^flows\.steps\.0: cannot import 'no_such_shop\.steps'"):
        prepare_flows(config, Catalog(), StepRegistry())
    bad = tmp_path / "bad.yaml"
    bad.write_text("flows:\n  steps: [not a module]\n", encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"bad\.yaml:2: flows\.steps: must look like package\.module"
    ):
        load_config(bad, env={})
    flow = FLOW.format(name="note", version=1, do="unknown_action", text="shop.note")
    path = shop(tmp_path, flow, {"en": "shop: {note: Hi}\n"})
    with pytest.raises(ConfigError, match=r"note\.yaml: no flow action 'unknown_action'; known: "):
        prepare(path)


def test_stage_is_read_as_order_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``stage:`` was the playbook position's old name (journeys call a funnel state
    "stage"): still read, with a warning; giving both is an error."""
    from flows.definition import load_flow

    old = tmp_path / "old.yaml"
    old.write_text(
        FLOW.replace("order: 5", "stage: 5").format(
            name="old_note", version=1, do="send", text="x"
        ),
        "utf-8",
    )
    with caplog.at_level("WARNING", logger="warmline.flows"):
        assert load_flow(old).order == 5
    assert "'stage' is deprecated, it is read as 'order'" in caplog.text
    both = tmp_path / "both.yaml"
    both.write_text(
        FLOW.replace("order: 5", "stage: 5\norder: 4").format(
            name="both_note", version=1, do="send", text="x"
        ),
        "utf-8",
    )
    with pytest.raises(ConfigError, match="not both"):
        load_flow(both)
