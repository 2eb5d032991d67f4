#!/bin/sh
# Dumps the database named by libpq's variables (PGHOST, PGPORT, PGDATABASE, PGUSER,
# PGPASSWORD) into $BACKUP_DIR as backup-<UTC time>.dump, in pg_dump's custom format;
# checks that the dump reads back; then deletes all but the newest $BACKUP_KEEP dumps.
set -eu

: "${BACKUP_DIR:?is the directory that keeps the dumps}"
: "${BACKUP_KEEP:?is how many dumps to keep}"
: "${PGDATABASE:?is the database to dump}"
case "$BACKUP_KEEP" in
  '' | *[!0-9]* | 0)
    echo "backup: BACKUP_KEEP must be a whole number above 0, got '$BACKUP_KEEP'" >&2
    exit 1
    ;;
esac

stamp=$(date -u +%Y%m%dT%H%M%SZ)
final="$BACKUP_DIR/backup-$stamp.dump"
partial="$BACKUP_DIR/.backup-$stamp.dump.partial"
trap 'rm -f "$partial"' EXIT

echo "backup: dumping $PGDATABASE to $final"
pg_dump --format=custom --compress=6 --file="$partial"
# A dump pg_restore cannot read is no backup: fail now, not on the day it is needed.
pg_restore --list "$partial" >/dev/null
# Renamed only when complete, so a crash never leaves a truncated dump among the kept ones.
mv "$partial" "$final"

# The names sort in time order: everything after the newest BACKUP_KEEP goes.
ls -1 "$BACKUP_DIR" | grep -E '^backup-[0-9]{8}T[0-9]{6}Z\.dump$' | sort -r |
  tail -n "+$((BACKUP_KEEP + 1))" | while read -r old; do
    echo "backup: removing $old"
    rm -f -- "$BACKUP_DIR/$old"
  done
echo "backup: done"
