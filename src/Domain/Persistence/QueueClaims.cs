namespace FeedbackHub.Domain.Persistence;

/// <summary>How the queue tables' claims (the oldest due rows: <c>ORDER BY due_at LIMIT n FOR UPDATE SKIP LOCKED</c>) are planned.</summary>
public static class QueueClaims
{
    /// <summary>
    /// Put before a claim, in the same transaction (an explicit one, or the implicit one of a multi-statement command):
    /// the claim walks its partial <c>due_at</c> index in order and stops after <c>n</c> rows, whatever the statistics say.
    /// </summary>
    /// <remarks>
    /// A queue table's statistics rarely know its backlog: a new table has none (<c>reltuples = -1</c>) until autovacuum
    /// first visits it, and an old one was last analysed when little was due. Estimating a handful of due rows, the
    /// planner prefers a bitmap scan of every due row (and every dead index entry of rows claimed since the last vacuum)
    /// followed by a top-N sort, so each claim reads the whole backlog and a burst of N items costs O(N²). Measured with
    /// 10,000 webhook deliveries due at once (bench/webhooks, an unanalysed table): 3.5-15.7 ms per claim of 256 rows,
    /// growing through the run, against 0.3 ms for the ordered index scan this setting leaves as the only plan.
    /// </remarks>
    public const string OrderedIndexScan = "SET LOCAL enable_bitmapscan = off;";
}
