"""The service's settings and request files, read the way the service reads them."""

from __future__ import annotations

import json

import pytest

from dlcourse.coursedir import CourseError, init_course
from dlcourse_graders.service.config import service_config
from dlcourse_graders.service.requests import BadRequest, parse_request, pending_requests, write_request
from serve_support import configure


def test_settings_come_from_the_course_config_and_bad_ones_are_named(tmp_path):
    course = init_course(tmp_path / "course", "c1", exchange=tmp_path / "exchange")
    settings = service_config(course)
    assert (settings.default_policy, settings.max_feedback_per_hour, settings.poll_seconds) == ("immediate", 0, 1.0)
    configure(course, feedback_policy={"perceptron": "manual"}, max_feedback_per_hour=3)
    settings = service_config(course)
    assert settings.policy("perceptron") == "manual" and settings.policy("cnn") == "immediate"
    assert settings.max_feedback_per_hour == 3
    configure(course, feedback_policy={"perceptron": "tomorrow"})
    with pytest.raises(CourseError, match=r"nbgrader_config.py.*'perceptron': 'tomorrow'.*immediate"):
        service_config(course)


def test_request_files_are_written_whole_and_checked(tmp_path):
    course = init_course(tmp_path / "course", "c1")
    path = write_request(course, "release", "perceptron", None)
    assert pending_requests(course) == [path]
    request = parse_request(path)
    assert (request.action, request.assignment, request.student) == ("release", "perceptron", None)
    assert not list(path.parent.glob("*.tmp"))
    bad = path.parent / "zz-bad.json"
    bad.write_text(json.dumps({"action": "delete", "assignment": "perceptron"}))
    with pytest.raises(BadRequest, match="unknown action 'delete'"):
        parse_request(bad)
