-- Every write to randoms notifies channel randoms_changed, so each API replica drops its
-- cached copy of the latest items (crates/api/src/latest.rs) whoever wrote: an API replica,
-- psql, a restore. A statement trigger: one notification per statement, however many rows,
-- and PostgreSQL folds identical notifications of one transaction into one.
create function randoms_changed() returns trigger
language plpgsql as $$
begin
    perform pg_notify('randoms_changed', '');
    return null;
end;
$$;

create trigger randoms_changed
after insert or update or delete or truncate on randoms
for each statement execute function randoms_changed();
