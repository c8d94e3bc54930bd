using FeedbackHub.Domain.Model;
using FeedbackHub.Tests;
using FeedbackHub.Worker.Outbound;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FeedbackHub.Worker.Tests.Outbound;

/// <summary>
/// The renewal of this process's sending leases against PostgreSQL: the held attempts still in progress get a new lease
/// in one statement; a row another transaction holds is skipped without waiting, and an attempt recovery took over is
/// left alone.
/// </summary>
public sealed class SendingLeasesTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task Every_held_attempt_still_in_progress_gets_a_new_lease_in_one_pass()
    {
        var items = await SendingAsync(150);
        await using var services = database.Services().BuildServiceProvider();
        var leases = Leases(services);
        foreach (var item in items)
            leases.Hold(item, 1);

        var before = DateTimeOffset.UtcNow;
        Assert.Equal(150, await leases.RenewAsync(CancellationToken.None));

        foreach (var item in items)
            Assert.True(await LeaseOfAsync(item) >= before + Lease - TimeSpan.FromSeconds(1), $"{item} kept its old lease");
    }

    [Fact]
    public async Task The_renewal_locks_the_held_rows_in_one_pass_not_once_per_row()
    {
        var items = await SendingAsync(150);
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var explain = new NpgsqlCommand("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + SendingLeases.Renew, connection, transaction);
        explain.Parameters.AddWithValue("ids", items.ToArray());
        explain.Parameters.AddWithValue("attempts", items.Select(_ => 1).ToArray());
        explain.Parameters.AddWithValue("until", DateTimeOffset.UtcNow + Lease);
        var plan = new List<string>();
        await using (var reader = await explain.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
                plan.Add(reader.GetString(0));
        }

        // As a locking subquery in the WHERE clause it ran once per held row ("LockRows (actual rows=1 loops=150)").
        var text = string.Join('\n', plan);
        Assert.Contains("LockRows (actual rows=150 loops=1)", text, StringComparison.Ordinal);
        Assert.Contains("Update on outbound", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_row_another_transaction_holds_is_skipped_and_an_attempt_taken_over_is_left_alone()
    {
        var items = await SendingAsync(3);
        await database.ExecuteAsync($"UPDATE outbound_attempts SET outcome = 'Interrupted' WHERE outbound_id = '{items[2]}'");
        await using var services = database.Services().BuildServiceProvider();
        var leases = Leases(services);
        foreach (var item in items)
            leases.Hold(item, 1);

        // Another transaction (a recorder) holds the first row: the renewal must not wait for it.
        await using var other = new NpgsqlConnection(database.ConnectionString);
        await other.OpenAsync();
        await using var transaction = await other.BeginTransactionAsync();
        await using (var hold = new NpgsqlCommand($"SELECT 1 FROM outbound WHERE id = '{items[0]}' FOR UPDATE", other, transaction))
            await hold.ExecuteScalarAsync();
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        Assert.Equal(1, await leases.RenewAsync(patience.Token));
        await transaction.RollbackAsync();

        Assert.True(await LeaseOfAsync(items[1]) > DateTimeOffset.UtcNow + TimeSpan.FromMinutes(1));
        Assert.True(await LeaseOfAsync(items[0]) < DateTimeOffset.UtcNow, "the held row was renewed");
        Assert.True(await LeaseOfAsync(items[2]) < DateTimeOffset.UtcNow, "the interrupted attempt's lease was renewed");
    }

    private static SendingLeases Leases(ServiceProvider services) =>
        new(services.GetRequiredService<IServiceScopeFactory>(), TimeProvider.System,
            Options.Create(new DeliveryOptions { SendingLease = Lease }), NullLogger<SendingLeases>.Instance);

    /// <summary>Items being sent (attempt 1 in progress) whose lease ran out a second ago.</summary>
    private async Task<List<Guid>> SendingAsync(int count)
    {
        var tenant = Tenant.Create("Leases", DateTimeOffset.UtcNow);
        await using (var db = database.CreateDbContext())
        {
            db.Tenants.Add(tenant);
            await db.SaveChangesAsync();
        }

        var items = Enumerable.Range(0, count).Select(_ => Guid.NewGuid()).ToList();
        var ids = "{" + string.Join(',', items) + "}";
        await database.ExecuteAsync($"""
            INSERT INTO outbound (id, tenant_id, channel, status, due_at, lease_until, possible_duplicate, created_at, updated_at)
            SELECT id, '{tenant.Id}', 'webhook', 'Sending', now(), now() - interval '1 second', false, now(), now()
            FROM unnest('{ids}'::uuid[]) AS id;
            INSERT INTO outbound_attempts (id, outbound_id, tenant_id, number, started_at, outcome, counts_against_budget)
            SELECT gen_random_uuid(), id, '{tenant.Id}', 1, now(), 'InProgress', true
            FROM unnest('{ids}'::uuid[]) AS id;
            """);
        return items;
    }

    private async Task<DateTimeOffset> LeaseOfAsync(Guid item) =>
        (await database.ScalarAsync<DateTime>($"SELECT lease_until FROM outbound WHERE id = '{item}'")).ToUniversalTime();
}
