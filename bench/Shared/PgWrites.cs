using System.Globalization;
using Npgsql;

namespace FeedbackHub.Bench;

/// <summary>
/// What PostgreSQL wrote for a batch: WAL bytes (exact: the insert position moves with every record; read on the bench's
/// own server, where the bench database is the only one written meanwhile) and, per table, the rows inserted, the rows
/// updated and how many of those updates were HOT (no new index entries). A deterministic measure of the database's write work per item,
/// where rates and CPU times swing with the machine's load.
/// </summary>
internal sealed record PgWrites(double WalBytes, IReadOnlyDictionary<string, (long Inserts, long Updates, long Hot)> Tables)
{
    /// <summary>The WAL position read (text, as PostgreSQL prints an LSN); null for a difference of two readings.</summary>
    public string? Lsn { get; init; }

    /// <summary>Where the WAL between two readings went, per item: the largest groups of records by table or index and record type.</summary>
    public IReadOnlyList<(string Relation, string Record, double Records, double Bytes)> Breakdown { get; init; } = [];

    /// <summary>Reads the current WAL position and every table's update counters in the database of <paramref name="connectionString"/>.</summary>
    public static async Task<PgWrites> ReadAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var position = new NpgsqlCommand("SELECT pg_current_wal_lsn()::text, pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::float8", connection);
        string lsn;
        double wal;
        await using (var at = await position.ExecuteReaderAsync())
        {
            await at.ReadAsync();
            (lsn, wal) = (at.GetString(0), at.GetDouble(1));
        }

        await using var command = new NpgsqlCommand("SELECT relname::text, n_tup_ins, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var tables = new Dictionary<string, (long, long, long)>(StringComparer.Ordinal);
        while (await reader.ReadAsync())
            tables[reader.GetString(0)] = (reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));

        return new PgWrites(wal, tables) { Lsn = lsn };
    }

    /// <summary>
    /// Runs <c>ANALYZE</c> on the bench database before a measured batch. In the product an email falls due hours after
    /// its rows were written (the cooling-off period), long after autovacuum has analysed them; a bench that writes its
    /// rows and makes them due seconds later would otherwise measure plans made for tables PostgreSQL has no statistics
    /// for (hash joins over whole tables where a deployment reads a few rows by index).
    /// </summary>
    public static async Task AnalyzeAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("ANALYZE", connection) { CommandTimeout = 300 };
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// Waits (at most 30 s) until the worker's sealer has sealed every audit event, then a little longer: a busy session's
    /// table counters reach <c>pg_stat_user_tables</c> up to a second after its transaction, an idle one's only after
    /// 10 s or when it ends, so this process's idle pooled connections are closed first (the worker polls, so its
    /// sessions are never idle that long). Call before each reading so the batch's writes include its sealing and
    /// nothing of the warm-up's.
    /// </summary>
    public static async Task SettleAsync(string connectionString)
    {
        NpgsqlConnection.ClearAllPools();
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT count(*) FROM audit_events WHERE sequence IS NULL", connection);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while ((long)(await command.ExecuteScalarAsync())! > 0 && DateTime.UtcNow < deadline)
                await Task.Delay(100);
        }

        await Task.Delay(1500);
    }

    /// <summary>
    /// The writes between two readings, WAL per item (the table counters stay totals), with the WAL's breakdown read by
    /// <c>pg_walinspect</c> (PostgreSQL 15's contrib; created in the bench database, which needs a superuser as the
    /// test profile's <c>postgres</c> is; without it the breakdown is empty).
    /// </summary>
    public static async Task<PgWrites> BetweenAsync(string connectionString, PgWrites from, PgWrites to, int items)
    {
        var breakdown = new List<(string, string, double, double)>();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        try
        {
            await using (var create = new NpgsqlCommand("CREATE EXTENSION IF NOT EXISTS pg_walinspect", connection))
                await create.ExecuteNonQueryAsync();
            await using var command = new NpgsqlCommand(
                """
                WITH r AS (SELECT resource_manager || ' ' || split_part(record_type, ' ', 1) AS kind, record_length,
                                  (regexp_match(block_ref, 'rel \d+/\d+/(\d+)'))[1]::oid AS node
                           FROM pg_get_wal_records_info(@from::pg_lsn, @to::pg_lsn))
                SELECT coalesce(c.relname::text, CASE WHEN r.node IS NULL THEN '(no relation)' ELSE '(other)' END), r.kind, count(*), sum(r.record_length)::bigint
                FROM r LEFT JOIN pg_class c ON c.relfilenode = r.node
                GROUP BY 1, 2 ORDER BY 4 DESC LIMIT 16
                """, connection);
            command.Parameters.AddWithValue("from", from.Lsn!);
            command.Parameters.AddWithValue("to", to.Lsn!);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                breakdown.Add((reader.GetString(0), reader.GetString(1), (double)reader.GetInt64(2) / items, (double)reader.GetInt64(3) / items));
        }
        catch (PostgresException e)
        {
            Console.Error.WriteLine($"No WAL breakdown: {e.MessageText}");
        }

        return Between(from, to, items) with { Breakdown = breakdown };
    }

    private static PgWrites Between(PgWrites from, PgWrites to, int items) => new(
        (to.WalBytes - from.WalBytes) / items,
        to.Tables.Select(t =>
            {
                var before = from.Tables.GetValueOrDefault(t.Key);
                return (t.Key, Inserts: t.Value.Inserts - before.Inserts, Updates: t.Value.Updates - before.Updates, Hot: t.Value.Hot - before.Hot);
            })
            .Where(t => t.Inserts > 0 || t.Updates > 0)
            .ToDictionary(t => t.Key, t => (t.Inserts, t.Updates, t.Hot), StringComparer.Ordinal));

    /// <summary>The breakdown as a Markdown table, records and bytes per item.</summary>
    public string BreakdownTable() => Breakdown.Count == 0 ? "(no WAL breakdown)" :
        "| relation | WAL record | records per item | bytes per item |\n|---|---|---:|---:|\n" + string.Join('\n', Breakdown.Select(b =>
            string.Create(CultureInfo.InvariantCulture, $"| {b.Relation} | {b.Record} | {b.Records:F2} | {b.Bytes:F0} |")));

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{WalBytes:F0} bytes of WAL per item; rows inserted / updated (HOT share of the updates): {string.Join(", ", Tables.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{t.Key} {t.Value.Inserts} / {t.Value.Updates} ({(t.Value.Updates == 0 ? 0 : 100.0 * t.Value.Hot / t.Value.Updates):F0}%)"))}");
}
