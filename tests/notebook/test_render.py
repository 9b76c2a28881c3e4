"""agno_nb.render: escaped, deterministic HTML and text transcripts."""

from __future__ import annotations

import re
from typing import Any

import pytest

from agno_nb import render
from agno_nb.sessions import AgentSession, Message

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "**bold** <b onmouseover=alert(1)>hi</b>\n\n<iframe src=javascript:alert(1)></iframe>",
    '"><svg onload=alert(1)>',
    "[click](javascript:alert(1))",
]

# Tags that must never come out of stored content.
_DANGEROUS = re.compile(r"<\s*(script|img|iframe|svg|b\s|a\s+href=\"javascript)", re.I)


def assert_safe(html_text: str) -> None:
    """No hostile tag or event handler appears as markup."""
    assert not _DANGEROUS.search(html_text), html_text
    # An event handler can only run inside a tag: check every tag's attributes.
    for tag in re.findall(r"<[^>]*>", html_text):
        assert not re.search(r"\bon\w+\s*=", tag, re.I), tag
        assert "javascript:" not in tag.lower(), tag


def tool_run(run_id: str = "run-1", created_at: int = 1_700_000_000) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "session_id": "s1",
        "agent_id": "agent-1",
        "model": "gpt-test",
        "created_at": created_at,
        "content": "It is **sunny** in Paris.",
        "metrics": {
            "input_tokens": [10, 20],
            "output_tokens": [5, 7],
            "total_tokens": [15, 27],
            "time": [0.5, 0.75],
        },
        "messages": [
            {"role": "system", "content": "You are a weather bot."},
            {"role": "user", "content": "old question", "from_history": True},
            {"role": "assistant", "content": "old answer", "from_history": True},
            {"role": "user", "content": "Weather in Paris?", "created_at": created_at},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            {
                "role": "tool",
                "tool_call_id": "call_1",
                "tool_name": "get_weather",
                "tool_args": {"city": "Paris"},
                "content": "sunny, 21C",
            },
            {"role": "assistant", "content": "It is **sunny** in Paris."},
        ],
    }


def make_session(runs: list[dict[str, Any]], **kw: Any) -> AgentSession:
    data: dict[str, Any] = {
        "session_id": "s1",
        "user_id": "alice",
        "agent_id": "agent-1",
        "memory": {"runs": runs},
        "session_data": {"session_name": "Trip planning"},
        "created_at": 1_700_000_000,
        "updated_at": 1_700_000_100,
    }
    data.update(kw)
    return AgentSession.from_dict(data)


def test_session_html_shows_runs_tools_metrics_and_history() -> None:
    session = make_session([tool_run()])
    out = render.session_html(session)
    assert "Trip planning" in out
    assert "<code>run-1</code>" in out
    assert "2023-11-14 22:13:20 UTC" in out  # UTC, whatever the local zone
    assert "in 30 · out 12 · total 42 tokens · 1.25 s" in out  # agno's per-call lists summed
    assert "gpt-test" in out
    # tool call with arguments and result, collapsible
    assert '<details class="agno-nb-toolcall"><summary>tool call: get_weather' in out
    assert "&quot;city&quot;: &quot;Paris&quot;" in out
    assert "sunny, 21C" in out
    assert out.count("sunny, 21C") == 1  # the paired tool message isn't repeated
    # system message collapsed
    assert "system message" in out and "You are a weather bot." in out
    # history messages marked and collapsed, not new turns
    assert "2 messages from history" in out
    assert out.count("old question") == 1
    assert "from history" in out
    # markdown in the assistant answer rendered
    assert "<strong>sunny</strong>" in out


def test_history_messages_are_not_new_turns_in_text() -> None:
    session = make_session([tool_run("r1"), tool_run("r2", created_at=1_700_000_060)])
    text = render.transcript_text(session)
    assert text.count("old question") == 0
    assert text.count("user: Weather in Paris?") == 2
    assert "2 messages from history not repeated" in text
    assert "tool call get_weather" in text
    assert "run #2 · r2" in text


def test_output_is_deterministic() -> None:
    session = make_session([tool_run()])
    assert render.session_html(session) == render.session_html(make_session([tool_run()]))
    assert session._repr_html_() == render.session_html(session)
    assert not re.search(r"id=\"", render.session_html(session))


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_content_is_escaped_everywhere(payload: str) -> None:
    run = {
        "run_id": payload,
        "model": payload,
        "created_at": payload,
        "messages": [
            {"role": "system", "content": payload},
            {"role": "user", "content": payload, "name": payload},
            {"role": "user", "content": payload, "from_history": True},
            {"role": "assistant", "content": payload},
            {"role": "assistant", "content": [{"type": "text", "text": payload}]},
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": payload, "function": {"name": payload, "arguments": payload}},
                    {"id": "c2", "function": {"name": "f", "arguments": {"x": payload}}},
                ],
            },
            {"role": "tool", "tool_call_id": payload, "tool_name": payload, "content": payload},
            {"role": "tool", "tool_call_id": "other", "tool_name": payload, "content": payload},
            {"role": payload, "content": payload},
        ],
    }
    session = make_session([run], session_id=payload, user_id=payload, agent_id=payload)
    session.session_data = {"session_name": payload}
    outputs = [
        render.session_html(session),
        render.runs_html([run]),
        render.runs_html([{"run_id": "x", "content": payload}]),
        render.message_html({"role": "assistant", "content": payload}),
        render.message_html(Message(role="user", content=payload)),
        render.markdown_to_safe_html(payload),
        render.summary_table_html(
            [
                {"session_id": payload, "session_name": payload, "user_id": payload},
                {"session_id": payload, "preview": payload, "entity_id": payload},
                {"session_id": payload, "error": payload},
            ],
            selected=payload,
        ),
        render.plan_html(
            {
                "table": payload,
                "backend": payload,
                "from_version": 1,
                "to_version": 2,
                "steps": [{"version": 2, "description": payload, "sql": [payload]}],
            },
            title=payload,
        ),
        render.session_header_html(payload, name=payload, note=payload),
    ]
    for out in outputs:
        assert_safe(out)
    # shown as text, not dropped
    if "<" in payload:
        assert "&lt;" in outputs[0]


def test_markdown_raw_html_shows_as_text() -> None:
    out = render.markdown_to_safe_html("# Title\n\n<div onclick=x()>raw</div>\n\n`<b>`")
    assert "<h1>Title</h1>" in out
    assert "&lt;div onclick=x()&gt;raw&lt;/div&gt;" in out
    assert "<code>&lt;b&gt;</code>" in out
    links = render.markdown_to_safe_html("[ok](https://example.com) [bad](javascript:alert(1))")
    assert '<a href="https://example.com">ok</a>' in links
    assert 'href="javascript' not in links
    assert "<img" not in render.markdown_to_safe_html("![x](https://example.com/t.png)")


def test_summary_table_error_row_and_others() -> None:
    long_id = "0f3c2a9e-5b7d-4c1e-9a8b-1234567890ab"
    rows = [
        {"session_id": long_id, "session_name": "Named", "run_count": 3, "message_count": 6},
        {"session_id": "bad", "error": "invalid JSON in memory"},
        {"session_id": "q", "preview": "What is 2+2?", "updated_at": 0},
    ]
    out = render.summary_table_html(rows, selected="q", now=3 * 86400)
    assert "Named" in out and ">3</td>" in out and "6" not in out.split("Named")[1][:60]
    assert f'<td title="{long_id}"><code>0f3c2a9e…</code></td>' in out  # short, full on hover
    assert "<th>error</th>" in out and "invalid JSON in memory" in out
    assert "What is 2+2?" in out and '<td title="1970-01-01 00:00:00 UTC">3 days ago</td>' in out
    assert '<tr class="agno-nb-selected"><td title="q"><code>q</code>' in out
    # no error column when no row has an error
    assert "<th>error</th>" not in render.summary_table_html(rows[::2])
    assert "no sessions" in render.summary_table_html([])


def test_relative_times_and_short_ids() -> None:
    from agno_nb.listing import count_footer, relative_time, short_id

    now = 1_700_000_000
    assert relative_time(now - 5, now=now) == "just now"
    assert relative_time(now - 120, now=now) == "2 min ago"
    assert relative_time((now - 3 * 3600) * 1000, now=now) == "3 h ago"  # milliseconds
    assert relative_time(now - 86400, now=now) == "1 day ago"
    assert relative_time(now - 400 * 86400, now=now) == "1 year ago"
    assert relative_time(None, now=now) == ""
    assert short_id("s12-mallory") == "s12-mallory"
    assert short_id("0f3c2a9e-5b7d-4c1e-9a8b-1234567890ab") == "0f3c2a9e…"
    assert count_footer(20, 25) == "showing 20 of 25 sessions (--limit N for more)"
    assert count_footer(3, 3) == "3 sessions" and count_footer(1, 1) == "1 session"


def test_metrics_text_and_timestamps() -> None:
    assert render.metrics_text({"input_tokens": 3, "output_tokens": 4}) == "in 3 · out 4 tokens"
    assert render.metrics_text({"time": [0.25, 0.25]}) == "0.50 s"
    assert render.metrics_text(None) == ""
    assert render.format_timestamp(None) == ""
    assert render.format_timestamp(1_700_000_000_000) == "2023-11-14 22:13:20 UTC"
    assert render.format_timestamp("soon") == "soon"


def test_run_metrics_fall_back_to_message_metrics() -> None:
    run = {
        "run_id": "r",
        "messages": [
            {"role": "user", "content": "hi"},
            {
                "role": "assistant",
                "content": "yo",
                "metrics": {"input_tokens": 4, "total_tokens": 9},
            },
            {
                "role": "assistant",
                "content": "old",
                "from_history": True,
                "metrics": {"input_tokens": 100},
            },
        ],
    }
    assert "in 4 · total 9 tokens" in render.runs_html([run])


def test_runs_html_options() -> None:
    out = render.runs_html([tool_run()], system=False, first_index=4)
    assert "run #5" in out
    assert "You are a weather bot." not in out
    assert "no runs" in render.runs_html([])


def test_unpaired_tool_call_and_result() -> None:
    run = {
        "messages": [
            {
                "role": "assistant",
                "tool_calls": [{"id": "a", "tool_name": "lookup", "tool_args": {}}],
            },
            {"role": "tool", "tool_call_id": "zzz", "tool_name": "other", "content": "orphan"},
        ]
    }
    out = render.runs_html([run])
    assert "tool call: lookup" in out and "no result recorded" in out
    assert "tool result: other" in out and "orphan" in out


def test_plan_html_states() -> None:
    pending = {
        "table": "t",
        "backend": "sqlite",
        "from_version": 1,
        "to_version": 2,
        "steps": [{"version": 2, "description": "move runs", "sql": ["CREATE TABLE x (a INT)"]}],
    }
    assert "1 step planned" in render.plan_html(pending)
    assert "CREATE TABLE x (a INT)" in render.plan_html(pending)
    done = dict(pending, applied=True, sessions_migrated=3, runs_moved=7)
    assert "3 sessions migrated, 7 runs moved" in render.plan_html(done)
    assert "up to date" in render.plan_html(dict(pending, steps=[], from_version=2))


def test_history_tool_calls_keep_their_results() -> None:
    run = tool_run()
    for message in run["messages"][3:6]:  # user question, tool call, tool result
        message["from_history"] = True
    out = render.runs_html([run])
    assert "5 messages from history" in out
    assert "sunny, 21C" in out and "no result recorded" not in out
    assert out.count("tool result:") == 0  # shown inside its call, not on its own


def test_combine_keeps_one_style_block() -> None:
    merged = render.combine(render.runs_html([]), render.summary_table_html([]), "")
    assert merged.count("<style>") == 1
    assert "no runs" in merged and "no sessions" in merged
    assert render.combine("", "") == ""
