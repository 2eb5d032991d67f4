-- The table behind "the latest ten random UUIDs".
--
-- No extra index: `order by id desc limit N` is served by the primary key's btree,
-- scanned backwards, and `unique` on name already brings its own index.
create table randoms (
    id bigint generated always as identity primary key,
    name uuid not null unique default gen_random_uuid(),
    created_at timestamptz not null default now()
);
