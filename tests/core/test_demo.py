"""``dlcourse demo`` runs one topic by default and the full tour on request."""

from __future__ import annotations

import pytest

from dlcourse.cli import build_parser
from dlcourse.coursedir import CourseError
from dlcourse.demo import DEFAULT_TOPIC, demo_topics, run_demo
from dlcourse.manager import Hooks


def test_default_is_one_installed_topic():
    assert demo_topics(None) == demo_topics([]) == [DEFAULT_TOPIC]
    assert DEFAULT_TOPIC in [topic.slug for topic in Hooks.load().topics()]


def test_named_topics_and_the_full_tour():
    assert demo_topics(["cnn", "rnn"]) == ["cnn", "rnn"]
    assert demo_topics(None, all_topics=True) is None  # None: every installed topic
    with pytest.raises(CourseError, match="not both"):
        demo_topics(["cnn"], all_topics=True)


def test_cli_flag_reaches_the_demo():
    parser = build_parser()
    default = parser.parse_args(["demo", "--course", "d"])
    assert (default.topics, default.all_topics) == ([], False)
    tour = parser.parse_args(["demo", "--course", "d", "--all-topics"])
    assert tour.all_topics is True


def test_conflicting_choice_fails_before_writing(tmp_path):
    with pytest.raises(CourseError, match="not both"):
        run_demo(tmp_path / "demo", ["perceptron"], all_topics=True)
    assert not (tmp_path / "demo").exists()
