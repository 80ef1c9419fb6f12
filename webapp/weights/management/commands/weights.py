"""`manage.py weights fetch NAME...` and `manage.py weights import FILE --arch NAME`: weights files on the server."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from webapp.core.errors import FieldError
from webapp.weights.models import DownloadStatus, Origin, WeightsFileRecord
from webapp.weights.services.catalogue import file_states, offline
from webapp.weights.services.downloads import OFFLINE_MESSAGE, resolve
from webapp.weights.services.uploads import install_file


class Command(BaseCommand):
    help = "List, download (fetch) or import ImageNet weights files into this server's torch cache."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="Show every file and whether it is present.")
        fetch = sub.add_parser("fetch", help="Download the files of these architectures here, now.")
        fetch.add_argument("names", nargs="+", metavar="NAME")
        bring = sub.add_parser("import", help="Check a file you copied here and put it in the cache.")
        bring.add_argument("file")
        bring.add_argument("--arch", required=True)

    def handle(self, *args, action, **options):
        try:
            getattr(self, f"_{action}")(**options)
        except FieldError as error:
            raise CommandError(error.message) from None

    def _list(self, **options):
        for state in file_states(None, with_runs=False):
            where = state.checksum_label if state.present else "missing"
            self.stdout.write(f"{state.entry.filename:28} {', '.join(state.entry.archs):28} {where}")

    def _fetch(self, names, **options):
        """Download in this process, through the same row the page shows (so its progress appears there too)."""
        from webapp.weights.worker import fetch

        if offline():
            raise CommandError(OFFLINE_MESSAGE)
        for entry in resolve(names):
            row, _ = WeightsFileRecord.objects.get_or_create(filename=entry.filename, defaults={"arch": entry.arch})
            if row.status in (DownloadStatus.QUEUED, DownloadStatus.RUNNING) and row.task_id:
                raise CommandError(f"{entry.filename} is already being downloaded by a worker; see the page.")
            WeightsFileRecord.objects.filter(pk=row.pk).update(status=DownloadStatus.QUEUED, task_id="", attempts=0,
                                                             error="", bytes_done=0, bytes_total=None)
            self.stdout.write(f"downloading {entry.filename}…")
            outcome = fetch(row.pk, worker="manage.py")
            row.refresh_from_db()
            if outcome != DownloadStatus.SUCCEEDED:
                raise CommandError(row.error or f"the download of {entry.filename} did not finish ({outcome})")
            self.stdout.write(self.style.SUCCESS(f"{entry.path} ({row.bytes_done:,} bytes, checksum verified)"))

    def _import(self, file, arch, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"no file at {path}")
        record = install_file(None, arch, path, original_name=path.name, origin=Origin.COMMAND)
        self.stdout.write(self.style.SUCCESS(f"{record.filename} is in place ({record.get_verified_by_display()})"))
