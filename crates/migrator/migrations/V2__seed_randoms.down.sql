-- Reverts V2 by deleting exactly the seeded rows, keeping any the API added since.
--
-- The seed is one statement in one transaction, so its 100 rows share one created_at
-- (now() is the transaction's start time), while each row the API adds comes from its
-- own transaction. Only one seed batch can exist at a time (V2 is applied at most once
-- between reverts), so "the newest group of 100 rows sharing a created_at" is the seed.
--
-- Rejected alternatives: `truncate` also deletes what users added, and "the 100 lowest
-- ids" deletes users' rows whenever they precede the seed (`up --target 1`, then writes,
-- then `up`; or a re-seed after a revert, since identity values are never reused).
delete from randoms
where created_at = (
    select created_at
    from randoms
    group by created_at
    having count(*) = 100
    order by created_at desc
    limit 1
);
