-- Reverts V1. Without `if exists`: `down` only runs this while V1 is recorded as applied,
-- so a missing table means the schema drifted, and stopping is better than hiding it.
drop table randoms;
