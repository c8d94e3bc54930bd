using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Tests;
using Npgsql;

namespace FeedbackHub.Worker.Tests.Persistence;

/// <summary>
/// A claim of the oldest due rows walks the partial <c>due_at</c> index in order and stops after its rows, even on a
/// table PostgreSQL has no statistics for (a new database, as here, or a backlog far larger than the last analysis saw),
/// instead of reading every due row and sorting them (<see cref="QueueClaims.Pick"/>).
/// </summary>
public sealed class QueueClaimPlanTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    [Fact]
    public async Task A_claim_planned_by_QueueClaims_Pick_is_an_ordered_scan_of_the_due_index_without_a_sort()
    {
        var tenant = Tenant.Create("Queue plan", DateTimeOffset.UtcNow);
        await using (var db = database.CreateDbContext())
        {
            db.Tenants.Add(tenant);
            await db.SaveChangesAsync();
        }

        // As a burst arrives: rows written while nothing was due, then falling due at once (each update leaves a dead
        // row version and index entry behind until a vacuum), in a table never analysed.
        await database.ExecuteAsync($"""
            INSERT INTO outbound (id, tenant_id, channel, status, due_at, possible_duplicate, created_at, updated_at)
            SELECT gen_random_uuid(), '{tenant.Id}', 'webhook', 'Scheduled', now() + interval '1 hour', false, now(), now()
            FROM generate_series(1, 20000);
            UPDATE outbound SET due_at = now() - interval '1 second';
            UPDATE outbound SET updated_at = now();
            """);

        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync(); // as the email claim and the relay run it
        await using var explain = new NpgsqlCommand(QueueClaims.Pick("""
            EXPLAIN SELECT id FROM outbound WHERE channel = ANY(@channels) AND status = 'Scheduled' AND due_at <= now()
            ORDER BY due_at LIMIT 64 FOR UPDATE SKIP LOCKED
            """), connection, transaction);
        explain.Parameters.AddWithValue("channels", new[] { "webhook" });
        var plan = new List<string>();
        await using (var reader = await explain.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
                plan.Add(reader.GetString(0));
        }

        var text = string.Join('\n', plan);
        Assert.Contains("Index Scan using ix_outbound_due_at on outbound", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Bitmap", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Sort", text, StringComparison.Ordinal);

        // Only that statement: the rest of the transaction is planned as usual.
        await using var show = new NpgsqlCommand("SHOW enable_bitmapscan", connection, transaction);
        Assert.Equal("on", await show.ExecuteScalarAsync());
    }
}
