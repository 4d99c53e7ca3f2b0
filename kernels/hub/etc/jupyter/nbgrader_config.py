"""nbgrader settings every account of a dlcourse hub shares: where the exchange is.

The hub passes ``NBGRADER_EXCHANGE_ROOT`` to every single-user server
(kernels/hub/jupyterhub_config.py); the course id is left empty so a student's
Assignment List shows every course in the exchange.
"""

import os

c = get_config()  # noqa: F821 - provided by traitlets

c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE_ROOT", "/srv/nbgrader/exchange")
