-- Seed data, as the original project does: 100 random names, inserted by one statement
-- (V2's down script relies on that).
insert into randoms (name)
select gen_random_uuid()
from generate_series(1, 100);
