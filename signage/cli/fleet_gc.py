"""``signage fleet gc``: delete the blobs only old releases and ended alerts use (``signage.fleet.central.gc``)."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
import typer

from signage.cli.common import ConfigOption, settings_or_exit
from signage.cli.fleet_admin import CentralOption, blob_dir_of, central_engine, fail
from signage.cli.fleet_content import BlobDirOption
from signage.clock import SystemClock
from signage.fleet.central.blobstore import BlobStore
from signage.fleet.central.gc import DEFAULT_KEEP_RELEASES, collect
from signage.store.sql import one_line


def register(fleet_app: typer.Typer) -> None:
    @fleet_app.command("gc")
    def gc_command(
        keep_releases: Annotated[
            int,
            typer.Option("--keep-releases", help="Keep the blobs of each group's newest N releases.", min=1),
        ] = DEFAULT_KEEP_RELEASES,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Say what would go; delete nothing.")
        ] = False,
        blob_dir: BlobDirOption = None,
        central: CentralOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Delete blobs no recent release and no active alert uses; older releases stay, not restorable."""
        settings = settings_or_exit(config)
        blobs = BlobStore(blob_dir_of(settings, blob_dir))
        with central_engine(central, settings) as engine:
            try:
                report = collect(
                    engine, blobs, SystemClock().now_utc(), keep_releases=keep_releases, dry_run=dry_run
                )
            except sa.exc.SQLAlchemyError as exc:
                fail(f"the central database refused the collection: {one_line(exc)}")
        plan = report.plan
        hit = ", ".join(f"{g}#{n}" for g, n in plan.releases_hit) or "none"
        verb = "would delete" if dry_run else "deleted"
        if dry_run:
            amount = f"{len(plan.doomed)} blob(s), {plan.doomed_bytes / 1e6:.1f} MB, and {len(plan.orphans)} orphan file(s)"
        else:
            amount = f"{report.files_deleted} file(s), {report.bytes_freed / 1e6:.1f} MB"
        typer.echo(f"{verb} {amount}; kept {len(plan.kept)} blob(s); no longer restorable: {hit}")
        for failure in report.failures:
            typer.echo(f"warning: not deleted: {failure}", err=True)
        if report.failures:
            raise typer.Exit(1)
