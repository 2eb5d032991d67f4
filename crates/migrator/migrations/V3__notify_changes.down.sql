-- Reverts V3. APIs that need V3 report not ready (and cache nothing) until it is back.
drop trigger randoms_changed on randoms;
drop function randoms_changed();
