// The advisory lock keys of a picsift catalogue. Advisory locks are per database,
// so catalogues in different databases never contend. The two-int form shows in
// pg_locks as (classid, objid, objsubid = 2), which is how locks.ts finds holders.

/** 'pics' as an int4: the class of every picsift lock. */
export const LOCK_CLASS = 0x70696373;
/** Shared by 'embed', 'scan' and 'reembed', exclusive for 'alone'. */
export const LOCK_ALONE = 1;
/** Exclusive for 'scan': one scan at a time. */
export const LOCK_SCAN = 2;
/** Held (transaction-level) while the schema is checked and migrated. */
export const LOCK_MIGRATE = 3;
/** Exclusive for 'reembed': one re-embedding at a time. */
export const LOCK_REEMBED = 4;
