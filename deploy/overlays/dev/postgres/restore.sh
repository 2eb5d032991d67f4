#!/bin/sh
# Loads a dump made by backup.sh into the database named by libpq's variables (PGHOST,
# PGPORT, PGDATABASE, PGUSER, PGPASSWORD). RESTORE_FILE is `latest` (the newest dump) or the
# name of a file in $BACKUP_DIR. The dump's objects are dropped and recreated in a single
# transaction: either all of it is restored, or nothing changes.
set -eu

: "${BACKUP_DIR:?is the directory that keeps the dumps}"
: "${PGDATABASE:?is the database to restore into}"
file=${RESTORE_FILE:-latest}

if [ "$file" = latest ]; then
  file=$(ls -1 "$BACKUP_DIR" | grep -E '^backup-[0-9]{8}T[0-9]{6}Z\.dump$' | sort | tail -n 1)
  if [ -z "$file" ]; then
    echo "restore: no dump in $BACKUP_DIR" >&2
    exit 1
  fi
fi
case "$file" in
  */*)
    echo "restore: RESTORE_FILE is a file name in $BACKUP_DIR, not a path: '$file'" >&2
    exit 1
    ;;
esac
if [ ! -f "$BACKUP_DIR/$file" ]; then
  echo "restore: $BACKUP_DIR/$file does not exist" >&2
  exit 1
fi

echo "restore: loading $file into $PGDATABASE"
pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction \
  --exit-on-error --dbname="$PGDATABASE" "$BACKUP_DIR/$file"
echo "restore: done"
