"""Single-user server settings of a dlcourse hub (every account).

jupyterhub-singleuser forbids being framed at all (``frame-ancestors
'none'``) unless a policy is configured; JupyterLab shows formgrader in a
frame of the same server, so allow exactly that.
"""

c = get_config()  # noqa: F821 - provided by traitlets

c.ServerApp.tornado_settings = {"headers": {"Content-Security-Policy": "frame-ancestors 'self'"}}
