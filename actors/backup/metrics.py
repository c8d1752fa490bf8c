"""What a backup run tells Prometheus; alert rules watch the first two."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

STAGES = ("dump", "upload", "verify", "retention")

LAST_GOOD = Gauge(
    "rateline_backup_last_good_timestamp_seconds",
    "Unix time of the newest verified backup; with none yet, when this node began to"
    " look, so 'no good backup for 26 hours' counts from there.",
)
FAILURES = Counter(
    "rateline_backup_failures_total",
    "Backup runs that failed, by the stage that failed (dump, upload, verify, retention).",
    ["stage"],
)
LAST_DURATION = Gauge(
    "rateline_backup_last_duration_seconds",
    "Duration of the last backup run, by step (dump: dump and upload; verify; total).",
    ["step"],
)
LAST_SIZE = Gauge("rateline_backup_last_size_bytes", "Size of the last backup's dump.")
UPLOAD_RETRIES = Counter(
    "rateline_backup_upload_retries_total", "S3 requests of backups tried again."
)

for _stage in STAGES:
    FAILURES.labels(_stage)
