"""nbgrader settings of an instructor's server on a dlcourse hub.

The hub puts this folder on the instructor's ``JUPYTER_CONFIG_PATH`` and sets
``DLCOURSE_COURSE`` to their course directory. Formgrader then reads the
course's own ``nbgrader_config.py`` (course id, gradebook, dlcourse's
feedback and autograde settings), whatever folder the server started in.
"""

import os

c = get_config()  # noqa: F821 - provided by traitlets

course = os.path.expanduser(os.environ.get("DLCOURSE_COURSE", "~/course"))
if os.path.isfile(os.path.join(course, "nbgrader_config.py")):
    load_subconfig(os.path.join(course, "nbgrader_config.py"))  # noqa: F821 - provided by traitlets
