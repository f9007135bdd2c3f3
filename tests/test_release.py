"""The public release (arena/release): the scrubber on a table of cases, the release
round trip through ``leaderboard --verify``, and the share page after the vote."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest
from sqlalchemy import update

from arena.release.public import COLUMNS
from arena.release.scrub import Scrubber
from arena.store import BattleRecord, Store
from tests.conftest import db_url, serve
from tests.records import WORDS, add, run
from tests.wire import WireServer, write_config

# Letters and digits in no order, cut to each provider's token length (written out here,
# a real-shaped key in the source would trip secret scanners).
R = "q7Wm2Xk9Lp4Rz8Nv3Tb6Yc1Hd5Fg0JsA9eU2iO4aQ7wE3rT6yU1iP8oL5kJ2hG9fD4sA0zX7cV3bN6mM1"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkphbmUifQ." + R[:43]
)
PRIVATE_KEY = "-----BEGIN RSA PRIVATE KEY-----\n" + R[:64] + "\n" + R[8:72] + "\n-----END RSA "

CASES = [
    # (text, scrubbed, kinds found)
    ("mail me at jane.doe+arena@example.co.uk please", "mail me at [email] please", {"email": 1}),
    ("Call +33 6 12 34 56 78 or (555) 123-4567.", "Call [phone] or [phone].", {"phone": 2}),
    ("my number is 020 7946 0958", "my number is [phone]", {"phone": 1}),
    ("server at 192.168.1.20, v6 2001:db8::8a2e:370:7334", "server at [ip], v6 [ip]", {"ip": 2}),
    ("card 4111 1111 1111 1111 exp 12/27", "card [card] exp 12/27", {"card": 1}),
    ("card 4111-1111-1111-1112 is not valid", "card 4111-1111-1111-1112 is not valid", {}),
    (
        "see https://x.io/reset?token=abc123&u=1 and https://example.com/docs?page=2",
        "see [url] and https://example.com/docs?page=2",
        {"url": 1},
    ),
    ("login https://bob:hunter2@host.example/", "login [url]", {"url": 1}),
    # Not personal data: dates, versions, prices, code, ordinary numbers.
    ("On 2024-01-15 at 10:30 version 3.11.7 cost $1,299.99", None, {}),
    ("x = [1, 2, 3]; for i in range(10): print(i * 3.14159)", None, {}),
    ("The year 1969 and the number 1234567 and 999.999.999", None, {}),
    ("steps 10 20 30 40 50, total 1,000,000 and 2024-01-15 08 30", None, {}),
    (
        "Appelez le 06 12 34 56 78 ou le 555.123.4567",
        "Appelez le [phone] ou le [phone]",
        {"phone": 2},
    ),
    (
        "ratio 16:9 and time 12:30:45 and ::1 is loopback",
        "ratio 16:9 and time 12:30:45 and ::1 is loopback",
        {},
    ),
    # A number ends at a sentence's period, a comma, a parenthesis or the end of the text;
    # a period followed by a digit (a decimal, a version) does not end it.
    ("card 4111 1111 1111 1111.", "card [card].", {"card": 1}),
    ("card 4111111111111111, ok", "card [card], ok", {"card": 1}),
    ("from 203.0.113.7.", "from [ip].", {"ip": 1}),
    ("(203.0.113.7), 198.51.100.23 and 2001:db8::1.", "([ip]), [ip] and [ip].", {"ip": 3}),
    ("hosts 203.0.113.7.5 and 1.2.3.4.5 and 4111111111111111.5", None, {}),
    ("see https://x.io/r?token=abc123.", "see [url].", {"url": 1}),
    ("(see https://x.io/r?token=abc123)", "(see [url])", {"url": 1}),
    # US social security numbers: a valid area (not 000, 666, 9xx), group and serial.
    ("SSN 536-90-4399.", "SSN [ssn].", {"ssn": 1}),
    ("(536-90-4399), 536-90-4398", "([ssn]), [ssn]", {"ssn": 2}),
    ("not 666-12-3456, 000-12-3456, 536-00-4399 or ISBN 978-3-16-148410-0", None, {}),
    # IBANs: the country's length and the mod-97 check digits.
    ("IBAN DE89 3704 0044 0532 0130 00.", "IBAN [iban].", {"iban": 1}),
    (
        "to GB82WEST12345698765432, or (FR1420041010050500013M02606)",
        "to [iban], or ([iban])",
        {"iban": 2},
    ),
    ("IBAN DE89 3704 0044 0532 0130 01 is mistyped", None, {}),
    # API keys and tokens of known shapes, at the end of a sentence, in quotes, alone.
    (f"my key is sk-proj-{R[:48]}.", "my key is [secret].", {"secret": 1}),
    (f'ANTHROPIC_API_KEY="sk-ant-api03-{R[:80]}"', 'ANTHROPIC_API_KEY="[secret]"', {"secret": 1}),
    (f"sk-{R[:32]}", "[secret]", {"secret": 1}),
    (
        f"stripe sk_live_{R[:24]}, aws AKIAIOSFODNN7EXAMPLE.",
        "stripe [secret], aws [secret].",
        {"secret": 2},
    ),
    (f"(ghp_{R[:36]}) github_pat_{R[:22]}_{R[22:81]}", "([secret]) [secret]", {"secret": 2}),
    (
        f"gitlab glpat-{R[:20]}; slack xoxb-123456789012-1234567890123-{R[:24]}",
        "gitlab [secret]; slack [secret]",
        {"secret": 2},
    ),
    (
        f"google AIza{R[:35]}, hugging face hf_{R[:34]}.",
        "google [secret], hugging face [secret].",
        {"secret": 2},
    ),
    (f"token {JWT}.", "token [secret].", {"secret": 1}),
    (f"Bearer {JWT}", "Bearer [secret]", {"secret": 1}),  # found once, not twice
    (f"https://maps.example/js?key=AIza{R[:35]}.", "[url].", {"url": 1}),
    (f"https://hooks.slack.com/services/T0123ABCD/B0123ABCD/{R[:24]}", "[url]", {"url": 1}),
    (f"Authorization: Bearer {R[:40]}", "Authorization: Bearer [secret]", {"secret": 1}),
    (
        "Authorization: Basic YWRtaW46czNjcjN0LXBhc3M=",
        "Authorization: Basic [secret]",
        {"secret": 1},
    ),
    (f'{{"api_key": "{R[:32]}", "n": 2}}', '{"api_key": "[secret]", "n": 2}', {"secret": 1}),
    (f"aws_secret_access_key = {R[:40]}", "aws_secret_access_key = [secret]", {"secret": 1}),
    (f"key:\n{PRIVATE_KEY}PRIVATE KEY-----\nthanks", "key:\n[secret]\nthanks", {"secret": 1}),
    # Not secrets: placeholders, variables, hashes, ids, public keys, prose.
    ("Replace sk-your-api-key-here and ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", None, {}),
    ("export OPENAI_API_KEY=sk-... ; Authorization: Bearer <YOUR_ACCESS_TOKEN>", None, {}),
    (
        "api_key = os.environ['OPENAI_API_KEY']; headers = {'Authorization': f'Bearer {t}'}",
        None,
        {},
    ),
    ("tokenizer = AutoTokenizer.from_pretrained('gpt2'); max_tokens=2048", None, {}),
    (
        "commit 3f786850e387550fdab836ed7e6dc881de23001b, id 550e8400-e29b-41d4-a716-446655440000",
        None,
        {},
    ),
    ("sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", None, {}),
    ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl", None, {}),
    ("The bearer of this letter is my friend. Basic understanding helps; sk-learn too.", None, {}),
]


@pytest.mark.parametrize(("text", "scrubbed", "kinds"), CASES)
def test_the_scrubber_replaces_personal_data_and_counts_it(
    text: str, scrubbed: str | None, kinds: dict[str, int]
) -> None:
    scrub = Scrubber()
    assert scrub(text) == (text if scrubbed is None else scrubbed)
    assert dict(scrub.counts) == kinds


def test_a_public_release_round_trips_through_verify(tmp_path: Path) -> None:
    db = db_url(tmp_path)
    store = Store(db)
    old = datetime(2026, 1, 5, 14, 37, 12, tzinfo=UTC)
    rng = random.Random(3)
    strength = {"m-a": 2.0, "m-b": 1.0, "m-c": 0.5}
    try:
        for i in range(120):
            a, b = rng.sample(sorted(strength), 2)
            won = rng.random() < strength[a] / (strength[a] + strength[b])
            add(
                store,
                a,
                b,
                "model_a" if won else "model_b",
                " ".join(rng.sample(WORDS, 6)),
                at=old + timedelta(minutes=i),
                language_code="en" if i % 3 else "de",
            )
        # Near-duplicates of one prompt, personal data, a multi-turn coding battle.
        for i, prompt in enumerate(
            [
                "Write me a poem about the sea and the wind, please",
                "write me a poem about the sea and the wind please!",
                "Write me a poem about the sea and the wind, please.",
            ]
        ):
            add(store, "m-a", "m-b", "tie", prompt, at=old + timedelta(hours=3, minutes=i))
        private = add(
            store,
            "m-b",
            "m-c",
            "model_a",
            "My email is jane@example.org and my card 4111 1111 1111 1111, call +44 20 7946 0958",
            at=old,
            answer_a="Noted: jane@example.org, see https://x.io/r?token=abc",
        )
        coding = add(
            store,
            "m-a",
            "m-c",
            "model_b",
            "Fix this python function: def f(x): return x+",
            at=old,
            turns=2,
        )
        # Left out: a named battle, an invalid vote, a vote newer than the delay.
        add(store, "m-a", "m-b", "model_a", "named", at=old, anony=False)
        add(store, "m-a", "m-b", "model_a", "invalid", at=old, valid=False)
        add(store, "m-a", "m-b", "model_a", "too new", at=datetime.now(UTC))
    finally:
        store.close()

    folder = tmp_path / "release"
    out = run("export", "--public", str(folder), "--delay-days", "1", "--db", db, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "125 battles released" in out.stdout
    assert "1 named or side-by-side, 1 invalid, 1 newer than the delay" in out.stdout
    assert sorted(p.name for p in folder.iterdir()) == [
        "README.md",
        "battles.jsonl",
        "battles.parquet",
        "leaderboard.json",
    ]

    rows = [json.loads(line) for line in (folder / "battles.jsonl").read_text().splitlines()]
    table = pq.read_table(folder / "battles.parquet").to_pylist()
    assert rows == table  # the two formats hold the same rows
    assert len(rows) == 125 and set(rows[0]) == set(COLUMNS)
    text = (folder / "battles.jsonl").read_text()
    assert "VOTERHASH" not in text and "IPHASH" not in text and "judge" not in text
    assert all(r["tstamp"] % 3600 == 0 for r in rows)
    by_id = {r["question_id"]: r for r in rows}
    scrubbed = by_id[private]
    assert (
        scrubbed["conversation_a"][0]["content"]
        == "My email is [email] and my card [card], call [phone]"
    )
    assert scrubbed["conversation_a"][1]["content"] == "Noted: [email], see [url]"
    # The whole card number: its first digits alone can turn up inside a random battle id.
    assert "jane@example.org" not in text and "4111 1111 1111 1111" not in text
    assert by_id[coding]["categories"] == ["coding", "multi_turn"]
    assert len(by_id[coding]["conversation_a"]) == 4
    poems = [r for r in rows if "poem about the sea" in r["conversation_a"][0]["content"]]
    assert len({r["cluster"] for r in poems}) == 1
    assert len({r["cluster"] for r in rows}) == 125 - 2
    assert {r["language"] for r in rows} == {"en", "de", None}
    assert all(f"language:{r['language']}" in r["categories"] for r in rows if r["language"])

    card = (folder / "README.md").read_text()
    assert "125 battles" in card and "CC-BY-4.0" in card
    # The prompt is in both sides.
    assert "1 url, 0 secret, 3 email, 0 iban, 2 card, 0 ssn, 0 ip, 2 phone" in card
    board = json.loads((folder / "leaderboard.json").read_text())
    assert board["manifest"]["battles_sha256"] in card
    assert [r["model"] for r in board["rows"]][0] == "m-a"

    verified = run(
        "leaderboard",
        "--battles",
        str(folder / "battles.parquet"),
        "--verify",
        str(folder / "leaderboard.json"),
        cwd=tmp_path,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # A board that was changed after the release does not verify.
    board["rows"][0]["rating"] += 25
    (folder / "tampered.json").write_text(json.dumps(board))
    tampered = run(
        "leaderboard",
        "--battles",
        str(folder / "battles.parquet"),
        "--verify",
        str(folder / "tampered.json"),
        cwd=tmp_path,
    )
    assert tampered.returncode != 0 and "m-a: rating" in tampered.stdout + tampered.stderr


def test_export_without_public_says_what_it_does(tmp_path: Path) -> None:
    out = run("export", "--db", db_url(tmp_path), cwd=tmp_path)
    assert out.returncode == 2 and "export --public DIR" in out.stderr
    negative = run("export", "--public", str(tmp_path / "r"), "--delay-days", "-1", cwd=tmp_path)
    assert negative.returncode == 2 and "--delay-days must be 0 or more" in negative.stderr


# -- sharing a battle after the vote ------------------------------------------------------


def test_a_battle_can_be_shared_after_the_vote_and_never_before(tmp_path: Path) -> None:
    from arena.votes import Reveal
    from arena.web.view import reveal_text

    db = db_url(tmp_path)
    store = Store(db)
    at = datetime(2026, 1, 5, tzinfo=UTC)
    try:
        voted = add(
            store, "m-a", "m-b", "model_b", "Say <b>hi</b>", at=at, answer_a="<script>x</script>"
        )
        waiting = add(store, "m-a", "m-b", "model_a", "still open", at=at)
        with store.session() as s:
            s.exec(
                update(BattleRecord)
                .where(BattleRecord.id == waiting)
                .values(state="open", winner=None)
            )
            s.commit()
    finally:
        store.close()
    with WireServer() as wire:
        on, off = tmp_path / "on.toml", tmp_path / "off.toml"
        write_config(on, wire, ["m-a", "m-b"])
        write_config(off, wire, ["m-a", "m-b"], share_battles="false")
        with serve(on, db, tmp_path) as (_, url):
            shared = httpx.get(f"{url}share/{voted}")
            assert shared.status_code == 200
            assert "Model A: m-a" in shared.text and "Model B: m-b" in shared.text
            assert "preferred Model B" in shared.text
            assert "&lt;script&gt;x&lt;/script&gt;" in shared.text and "<script>" not in shared.text
            for hidden in (waiting, str(uuid.uuid4()), "not-an-id"):
                refused = httpx.get(f"{url}share/{hidden}")
                assert refused.status_code == 404 and "m-a" not in refused.text
        with serve(off, db, tmp_path, log_name="off.log") as (_, url):
            assert httpx.get(f"{url}share/{voted}").status_code == 404
    reveal = Reveal(voted, "model_b", {"name": "m-a"}, {"name": "m-b"})
    assert f"(/share/{voted})" in reveal_text(reveal, share=True)
    assert "/share/" not in reveal_text(reveal, share=False)
