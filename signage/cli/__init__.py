"""The ``signage`` command. Each area registers its commands from its own module."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="signage",
    help="Audience-aware digital-signage player.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Registration order is the order commands are listed in --help.
from signage.cli import player as _player  # noqa: E402

_player.register(app)
from signage.cli import rules as _rules  # noqa: E402

_rules.register(app)

from signage.cli import perception as _perception  # noqa: E402

_perception.register(app)
from signage.cli import model as _model  # noqa: E402

_model.register(app)
from signage.cli import camera as _camera  # noqa: E402

_camera.register(app)
from signage.cli import install as _install  # noqa: E402

_install.register(app)

from signage.cli import fleet as _fleet  # noqa: E402

_fleet.register(app)
from signage.cli import fleet_admin as _fleet_admin  # noqa: E402

_fleet_admin.register(app)
from signage.cli import fleet_join as _fleet_join  # noqa: E402

_fleet_join.register(app)

from signage.cli import report as _report  # noqa: E402

_report.register(app)

from signage.cli import ads as _ads  # noqa: E402

_ads.register(app)

from signage.cli import doctor as _doctor  # noqa: E402

_doctor.register(app)

from signage.cli import service as _service  # noqa: E402

_service.register(app)


def main() -> None:
    from signage.quiet import quiet_console

    quiet_console()  # before any command loads MediaPipe, TFLite or pygame
    app()
