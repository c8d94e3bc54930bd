using FeedbackHub.Domain.Outbound;

namespace FeedbackHub.Domain.Persistence;

/// <summary>
/// How the queue tables' claims (the oldest due rows: <c>ORDER BY due_at LIMIT n FOR UPDATE SKIP LOCKED</c>) are planned,
/// and the picks of <c>outbound</c>'s two dispatchers with the partial indexes they walk.
/// </summary>
/// <remarks>
/// Scheduled webhooks and scheduled emails have a <c>due_at</c> index each, so each dispatcher walks only its own due
/// rows: with one index for both, every webhook poll walked past every due email (and the email claim past every due
/// webhook), so an empty poll during a backlog of N emails read N index entries (0.5-2.3 ms with 2,000 due,
/// bench/delivery/README.md). Each pick names the predicate of its index, so the planner can use it however the
/// statement is prepared.
/// </remarks>
public static class QueueClaims
{
    /// <summary>The filter of <c>ix_outbound_due_webhooks</c>: scheduled webhook deliveries.</summary>
    public const string WebhooksDue = $"status = 'Scheduled' AND channel = '{OutboundChannels.Webhook}'";

    /// <summary>The filter of <c>ix_outbound_due_emails</c>: scheduled items of every email channel.</summary>
    public const string EmailsDue = $"status = 'Scheduled' AND channel <> '{OutboundChannels.Webhook}'";

    /// <summary>The email dispatcher's pick: the oldest due items of the channels <c>@channels</c> (parameters <c>@now</c>, <c>@take</c>).</summary>
    public const string DueEmails =
        $"SELECT id, channel FROM outbound WHERE {EmailsDue} AND channel = ANY(@channels) AND due_at <= @now ORDER BY due_at LIMIT @take FOR UPDATE SKIP LOCKED";

    /// <summary>The webhook dispatcher's pick: the oldest due webhook deliveries (parameters <c>@now</c>, <c>@take</c>).</summary>
    public const string DueWebhooks =
        $"SELECT id, tenant_id, due_at FROM outbound WHERE {WebhooksDue} AND due_at <= @now ORDER BY due_at LIMIT @take FOR UPDATE SKIP LOCKED";

    /// <summary>
    /// Recovery's read (no lock): up to <c>@take</c> scheduled items of any channel due before <c>@overdue</c>, oldest
    /// first, as an ordered merge of the two indexes.
    /// </summary>
    public const string Overdue = $"""
        SELECT id AS "Id", channel AS "Channel" FROM (
            (SELECT id, channel, due_at FROM outbound WHERE {WebhooksDue} AND due_at < @overdue ORDER BY due_at LIMIT @take)
            UNION ALL
            (SELECT id, channel, due_at FROM outbound WHERE {EmailsDue} AND due_at < @overdue ORDER BY due_at LIMIT @take)
        ) AS o ORDER BY due_at LIMIT @take
        """;

    /// <summary>
    /// The claim statement <paramref name="sql"/> (one statement, no trailing semicolon) with the planner told, for that
    /// statement only, to walk its partial <c>due_at</c> index in order and stop after its rows, whatever the statistics
    /// say: bitmap scans off (<see cref="PlannerMethods"/>; run it in an explicit transaction). The command's first result
    /// set is the claim's.
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
    public static string Pick(string sql) => PlannerMethods.WithoutRaw(sql, PlannerMethods.BitmapScan);

    /// <summary>
    /// As <see cref="Pick"/>, for a claim that also reads, for each row it claims, rows of other tables by their keys: the
    /// planner is also told to join by nested loops (hash and merge joins off for the statement), so each claimed row
    /// costs a few index lookups whatever the size of those tables.
    /// </summary>
    /// <remarks>
    /// Costing a random read at four sequential ones, the planner prefers to read and hash a whole table of some
    /// thousands of rows to looking up the few dozen a claim needs: the webhook claim read all of <c>webhook_deliveries</c>
    /// on every claim (10,000 rows, about 1 ms a claim, growing with the table until the planner changed its mind;
    /// bench/webhooks/README.md).
    /// </remarks>
    public static string PickJoiningByKey(string sql) =>
        PlannerMethods.WithoutRaw(sql, PlannerMethods.BitmapScan, PlannerMethods.HashJoin, PlannerMethods.MergeJoin);
}
