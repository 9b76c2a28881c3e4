"""URL helpers: masking secrets before anything is shown or logged."""

from __future__ import annotations

import re

_PASSWORD_IN_URL = re.compile(
    r"(?P<head>[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/?#@\s]*:)(?P<pw>[^@/?#\s]*)@"
)
_PASSWORD_PARAM = re.compile(r"(?P<head>[?&;](?:password|pwd|passwd)=)(?P<pw>[^&;\s]*)", re.I)


def mask_url(url: object) -> str:
    """Return ``url`` as text with any password replaced by ``***``.

    Works on SQLAlchemy URL objects and on free text that contains URLs
    (error messages, for instance), so it is safe to apply to anything shown.
    """
    if url is None:
        return ""
    render = getattr(url, "render_as_string", None)
    text = render(hide_password=True) if callable(render) else str(url)
    text = _PASSWORD_IN_URL.sub(lambda m: m.group("head") + "***@", text)
    return _PASSWORD_PARAM.sub(lambda m: m.group("head") + "***", text)
