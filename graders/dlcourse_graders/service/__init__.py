"""``dlcourse serve``: a long-running grader for one course.

It watches the exchange's inbound folder for submissions of released
assignments, collects and grades them with the same engine and executors as
``dlcourse grade`` (a warm pool kept across submissions), and releases
feedback by each assignment's policy. Its state lives in
``COURSE/.dlcourse/service/state.db`` (:mod:`.state`), which the web pages
read; they ask for regrades and releases with request files (:mod:`.requests`).

Modules: :mod:`.config` (the ``DlcourseService`` section of
``nbgrader_config.py``), :mod:`.state` (schema, transitions, readers),
:mod:`.inbound` (what the exchange holds), :mod:`.requests` (request files),
:mod:`.feedback` (releasing by policy), :mod:`.loop` (the service itself).
"""

from __future__ import annotations

from dlcourse_graders.service.loop import run_service

__all__ = ["run_service"]
