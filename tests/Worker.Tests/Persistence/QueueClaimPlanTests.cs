using System.Globalization;
using System.Text.RegularExpressions;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Tests;
using Npgsql;

namespace FeedbackHub.Worker.Tests.Persistence;

/// <summary>
/// The dispatchers' picks walk their own partial <c>due_at</c> index in order and stop after their rows, even on a table
/// PostgreSQL has no statistics for (a new database, as here, or a backlog far larger than the last analysis saw),
/// instead of reading every due row and sorting them (<see cref="QueueClaims.Pick"/>); and neither walks the other's due
/// rows (<see cref="QueueClaims.DueEmails"/>, <see cref="QueueClaims.DueWebhooks"/>). Recovery reads both in one ordered
/// statement (<see cref="QueueClaims.Overdue"/>).
/// </summary>
public sealed partial class QueueClaimPlanTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    [Theory]
    [InlineData(QueueClaims.DueEmails, "ix_outbound_due_emails")]
    [InlineData(QueueClaims.DueWebhooks, "ix_outbound_due_webhooks")]
    public async Task A_pick_planned_by_QueueClaims_Pick_is_an_ordered_scan_of_its_due_index_without_a_sort(string pick, string index)
    {
        // As a burst arrives: rows written while nothing was due, then falling due at once (each update leaves a dead
        // row version and index entry behind until a vacuum), in a table never analysed.
        var tenant = await TenantAsync("Queue plan");
        await database.ExecuteAsync($"""
            DELETE FROM outbound;
            INSERT INTO outbound (id, tenant_id, channel, status, due_at, possible_duplicate, created_at, updated_at)
            SELECT gen_random_uuid(), '{tenant}', CASE WHEN i % 2 = 0 THEN 'webhook' ELSE 'feedback-email' END, 'Scheduled',
                   now() + interval '1 hour', false, now(), now()
            FROM generate_series(1, 20000) AS i;
            UPDATE outbound SET due_at = now() - interval '1 second' WHERE tenant_id = '{tenant}';
            UPDATE outbound SET updated_at = now() WHERE tenant_id = '{tenant}';
            """);

        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync(); // as the dispatchers run it
        var plan = await PlanAsync(connection, transaction, "EXPLAIN " + pick);

        Assert.Contains($"Index Scan using {index} on outbound", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("Bitmap", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("Sort", plan, StringComparison.Ordinal);

        // Only that statement: the rest of the transaction is planned as usual.
        await using var show = new NpgsqlCommand("SHOW enable_bitmapscan", connection, transaction);
        Assert.Equal("on", await show.ExecuteScalarAsync());
    }

    [Fact]
    public async Task An_empty_webhook_poll_during_a_backlog_of_emails_reads_none_of_them()
    {
        var tenant = await TenantAsync("Email backlog");
        await database.ExecuteAsync("DELETE FROM outbound");
        await database.ExecuteAsync("VACUUM outbound"); // no dead index entries left by the other test either
        await database.ExecuteAsync($"""
            INSERT INTO outbound (id, tenant_id, channel, status, due_at, possible_duplicate, created_at, updated_at)
            SELECT gen_random_uuid(), '{tenant}', 'feedback-email', 'Scheduled', now() - interval '1 minute', false, now(), now()
            FROM generate_series(1, 20000);
            ANALYZE outbound;
            """);

        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var plan = await PlanAsync(connection, transaction, "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + QueueClaims.DueWebhooks);

        // The whole statement's buffers (the top line's): a few index pages, not the 20,000 due emails' entries or rows.
        var buffers = BuffersRead().Matches(plan).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).FirstOrDefault();
        Assert.True(buffers < 10, plan);
        Assert.Contains("rows=0", plan, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Recovery_reads_the_oldest_overdue_items_of_both_indexes_in_due_order()
    {
        var tenant = await TenantAsync("Overdue");
        await database.ExecuteAsync($"""
            DELETE FROM outbound;
            INSERT INTO outbound (id, tenant_id, channel, status, due_at, possible_duplicate, created_at, updated_at) VALUES
                ('00000000-0000-0000-0000-000000000001', '{tenant}', 'webhook', 'Scheduled', now() - interval '10 minutes', false, now(), now()),
                ('00000000-0000-0000-0000-000000000002', '{tenant}', 'feedback-email', 'Scheduled', now() - interval '20 minutes', false, now(), now()),
                ('00000000-0000-0000-0000-000000000003', '{tenant}', 'webhook', 'Scheduled', now() - interval '30 minutes', false, now(), now()),
                ('00000000-0000-0000-0000-000000000004', '{tenant}', 'invitation', 'Scheduled', now() - interval '5 minutes', false, now(), now()),
                ('00000000-0000-0000-0000-000000000005', '{tenant}', 'feedback-email', 'Scheduled', now() - interval '30 seconds', false, now(), now()),
                ('00000000-0000-0000-0000-000000000006', '{tenant}', 'webhook', 'Sending', now() - interval '1 hour', false, now(), now());
            """);

        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(QueueClaims.Overdue, connection);
        command.Parameters.AddWithValue("overdue", DateTimeOffset.UtcNow - TimeSpan.FromMinutes(1));
        command.Parameters.AddWithValue("take", 3);
        var found = new List<(int Id, string Channel)>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
                found.Add((reader.GetGuid(0).ToByteArray(bigEndian: true)[^1], reader.GetString(1)));
        }

        Assert.Equal([(3, "webhook"), (2, "feedback-email"), (1, "webhook")], found);
    }

    // Each test's rows are the only ones in outbound (the class shares its database).
    private async Task<Guid> TenantAsync(string name)
    {
        var tenant = Tenant.Create(name, DateTimeOffset.UtcNow);
        await using var db = database.CreateDbContext();
        db.Tenants.Add(tenant);
        await db.SaveChangesAsync();
        return tenant.Id;
    }

    private static async Task<string> PlanAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string explain)
    {
        await using var command = new NpgsqlCommand(QueueClaims.Pick(explain), connection, transaction);
        command.Parameters.AddWithValue("channels", new[] { "feedback-email" });
        command.Parameters.AddWithValue("now", DateTimeOffset.UtcNow);
        command.Parameters.AddWithValue("take", 64);
        var plan = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            plan.Add(reader.GetString(0));
        return string.Join('\n', plan);
    }

    [GeneratedRegex(@"Buffers: shared hit=(\d+)")]
    private static partial Regex BuffersRead();
}
