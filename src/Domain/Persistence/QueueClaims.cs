namespace FeedbackHub.Domain.Persistence;

/// <summary>How the queue tables' claims (the oldest due rows: <c>ORDER BY due_at LIMIT n FOR UPDATE SKIP LOCKED</c>) are planned.</summary>
public static class QueueClaims
{
    /// <summary>
    /// The claim statement <paramref name="sql"/> (one statement, no trailing semicolon) with the planner told, for that
    /// statement only, to walk its partial <c>due_at</c> index in order and stop after its rows, whatever the statistics
    /// say: <c>SET LOCAL enable_bitmapscan = off</c> before it and <c>SET LOCAL ... TO DEFAULT</c> after it (both end with the
    /// transaction, so no session state is left on a pooled connection), sent as one command (one round trip). Run it in
    /// an explicit transaction: outside one, PostgreSQL logs a warning for each <c>SET LOCAL</c> (and documents the
    /// setting as having no effect), on every poll of every worker. The command's first result set is the claim's.
    /// </summary>
    /// <remarks>
    /// A queue table's statistics rarely know its backlog: a new table has none (<c>reltuples = -1</c>) until autovacuum
    /// first visits it, and an old one was last analysed when little was due. Estimating a handful of due rows, the
    /// planner prefers a bitmap scan of every due row (and of every dead index entry of rows claimed since the last
    /// vacuum) followed by a top-N sort, so each claim reads the whole backlog and a burst of N items costs O(N²).
    /// Measured with 10,000 webhook deliveries due at once (bench/webhooks, an unanalysed table): 3.5-15.7 ms per claim of
    /// 256 rows, growing through the run, against 0.3 ms for the ordered index scan. The rest of the caller's transaction
    /// (locks, reads by id, the writes) is planned as usual.
    /// </remarks>
    public static string Pick(string sql) => $"SET LOCAL enable_bitmapscan = off;\n{sql};\nSET LOCAL enable_bitmapscan TO DEFAULT";
}
