using System.Diagnostics;
using System.Globalization;
using FeedbackHub.Api.Commands;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Outbox;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Templates;
using FeedbackHub.Messages;
using FeedbackHub.Worker.Retention;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FeedbackHub.Bench.Erasure;

/// <summary>
/// Retention-sweep throughput. <c>prepare N A B</c>: database A gets N full candidate stories (candidate, application,
/// feedback with a comment naming the person, request with a note, link, scheduled delivery with a refused attempt
/// quoting the address, queued invitation, suppression entry, outbox message), all 2 years old; B... are copies of A
/// (CREATE DATABASE ... TEMPLATE). <c>sweep A BATCH PARALLELISM</c>: runs <see cref="RetentionSweeper.RunOnceAsync"/> on A and prints
/// the seconds. <c>count DB</c>: prints how many candidates are erased. <c>drop A B</c>.
/// </summary>
internal static class Program
{
    private static readonly Actor Author = new(Guid.NewGuid(), "Author");

    private static readonly Actor Reviewer = new(Guid.NewGuid(), "Reviewer");

    public static async Task<int> Main(string[] args)
    {
        var pg = Environment.GetEnvironmentVariable("FEEDBACKHUB_PG") is { Length: > 0 } v ? v : throw new InvalidOperationException("FEEDBACKHUB_PG is not set.");
        switch (args)
        {
            case ["prepare", var n, var a, .. var copies]:
                await PrepareAsync(pg, int.Parse(n, CultureInfo.InvariantCulture), a, copies);
                return 0;
            case ["sweep", var a, var batch, var parallelism]:
                Console.WriteLine((await SweepAsync(With(pg, a), int.Parse(batch, CultureInfo.InvariantCulture), int.Parse(parallelism, CultureInfo.InvariantCulture)))
                    .ToString("F3", CultureInfo.InvariantCulture));
                return 0;
            case ["count", var db]:
                await using (var connection = new NpgsqlConnection(With(pg, db)))
                {
                    await connection.OpenAsync();
                    await using var command = new NpgsqlCommand("SELECT count(*) FROM candidates WHERE erased_at IS NOT NULL", connection);
                    Console.WriteLine(await command.ExecuteScalarAsync());
                }

                return 0;
            case ["drop", .. var dbs]:
                NpgsqlConnection.ClearAllPools();
                foreach (var db in dbs)
                    await AdminAsync(pg, $"DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)");
                return 0;
            default:
                await Console.Error.WriteLineAsync("Usage: ErasureBench prepare N A B... | sweep A BATCH PARALLELISM | count DB | drop A B");
                return 2;
        }
    }

    private static async Task PrepareAsync(string pg, int n, string a, string[] copies)
    {
        foreach (var db in copies.Prepend(a))
            await AdminAsync(pg, $"DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)");
        await AdminAsync(pg, $"CREATE DATABASE \"{a}\"");
        var options = new DbContextOptionsBuilder<FeedbackHubDbContext>();
        PersistenceExtensions.Configure(options, With(pg, a));
        await using (var db = FeedbackHubDbContext.Create(options.Options, new SystemTenantScope()))
            await db.Database.MigrateAsync();

        var now = DateTimeOffset.UtcNow;
        var tenant = Tenant.Create("Erasure Bench", now);
        Guid tenantId;
        TemplateVersion version;
        await using (var db = FeedbackHubDbContext.Create(options.Options, new SystemTenantScope()))
        {
            db.Tenants.Add(tenant);
            var (name, content) = ExampleTemplates.Engineering;
            var template = Template.Create(tenant.Id, name, "en", content, Author, now);
            template.Latest.Submit(now);
            template.Publish(template.Latest.Number, Reviewer, now);
            db.Templates.Add(template);
            await db.SaveChangesAsync();
            tenantId = tenant.Id;
            version = template.Published!;
        }

        for (var done = 0; done < n; done += 250)
        {
            await using var db = FeedbackHubDbContext.Create(options.Options, new SystemTenantScope());
            await using var tx = await db.Database.BeginTransactionAsync();
            for (var i = done; i < Math.Min(n, done + 250); i++)
                await AddStoryAsync(db, tenantId, version, i, now);
            await db.SaveChangesAsync();
            await tx.CommitAsync();
        }

        // Every delivery had a refused attempt whose reply quotes the address (what erasure scrubs), as the worker records it.
        await using (var connection = new NpgsqlConnection(With(pg, a)))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("""
                INSERT INTO outbound_attempts (id, outbound_id, tenant_id, number, started_at, finished_at, outcome, code, reply, counts_against_budget)
                  SELECT gen_random_uuid(), d.id, o.tenant_id, 1, now(), now(), 'TransientFailure', 451, '451 4.2.0 <' || c.email || '> greylisted', true
                  FROM deliveries d JOIN outbound o ON o.id = d.id JOIN applications ap ON ap.id = d.application_id JOIN candidates c ON c.id = ap.candidate_id;
                UPDATE outbound o SET last_reply = t.reply FROM outbound_attempts t WHERE t.outbound_id = o.id;
                """, connection);
            await command.ExecuteNonQueryAsync();
        }

        // Everything two years old: every candidate is due under the default 12 months.
        await using (var connection = new NpgsqlConnection(With(pg, a)))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("""
                UPDATE candidates SET created_at = created_at - interval '730 days', updated_at = updated_at - interval '730 days';
                UPDATE applications SET created_at = created_at - interval '730 days', updated_at = updated_at - interval '730 days', rejected_at = rejected_at - interval '730 days';
                UPDATE feedback SET created_at = created_at - interval '730 days', updated_at = updated_at - interval '730 days';
                UPDATE feedback_requests SET requested_at = requested_at - interval '730 days';
                UPDATE feedback_request_links SET created_at = created_at - interval '730 days', expires_at = expires_at - interval '730 days';
                UPDATE outbound SET created_at = created_at - interval '730 days', updated_at = updated_at - interval '730 days';
                """, connection);
            await command.ExecuteNonQueryAsync();
            await using var vacuum = new NpgsqlCommand("VACUUM ANALYZE", connection);
            await vacuum.ExecuteNonQueryAsync();
        }

        NpgsqlConnection.ClearAllPools();
        foreach (var copy in copies)
            await AdminAsync(pg, $"CREATE DATABASE \"{copy}\" TEMPLATE \"{a}\"");
    }

    private static async Task AddStoryAsync(FeedbackHubDbContext db, Guid tenantId, TemplateVersion template, int i, DateTimeOffset now)
    {
        var first = $"Benchname{i:D6}";
        var email = $"bench-{i:D6}@example.test";
        var candidate = Candidate.Create(tenantId, new CandidateDetails($"c-{i:D6}", first, "Benchsurname", email, "en-GB"), now);
        var application = Application.Create(tenantId, $"a-{i:D6}", candidate.Id, new ApplicationDetails("Backend Engineer", "onsite", null), now);
        application.Reject(now, now);
        var feedback = Feedback.Start(tenantId, application.Id, template, Author, now);
        var answers = template.Content.Criteria
            .Select(c => new Answer(c.Key, c.Bands[0].Key, null, c.Comment.Allowed ? $"{first} solved the exercise with tests." : null)).ToList();
        feedback.Save(answers, template.Content, Author, now, _ => []);
        feedback.Submit([], template.Content, Author, now, autoApproveTemplateOnly: false);
        feedback.Approve(Reviewer, now);
        var request = FeedbackRequest.Create(tenantId, application.Id, $"Please write to {email}.", now);
        var (link, _) = FeedbackRequestLink.Issue(tenantId, application.Id, now.AddDays(30), now);
        var locked = await DeliveryScheduling.LockApplicationAsync(db, application.Id, CancellationToken.None);
        var delivery = FeedbackHub.Domain.Delivery.Delivery.Schedule(locked, tenantId, feedback.Id, request.Id, now.AddDays(1), "bench.local", now);
        db.AddRange(candidate, application, feedback, request, link, delivery, Invitation.Queue(locked, tenantId, now),
            SuppressedAddress.For(tenantId, email, $"550 5.1.1 <{email}> unknown", now),
            OutboxMessage.Create(new DeliverFeedback(delivery.Id, tenantId), tenantId, now, delivery.DueAt));
    }

    private static async Task<double> SweepAsync(string connectionString, int batchSize, int parallelism)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:Postgres"] = connectionString }).Build());
        // ERASURE_BENCH_SQL=1 prints every statement with its duration (EF Core's command log) to stderr, to see where a sweep spends its time.
        services.AddLogging(b =>
        {
            if (Environment.GetEnvironmentVariable("ERASURE_BENCH_SQL") == "1")
                b.AddSimpleConsole(o => o.TimestampFormat = "HH:mm:ss.fff ").AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace).AddFilter("Microsoft.EntityFrameworkCore.Database.Command", LogLevel.Information);
        });
        services.AddFeedbackHubDatabase();
        services.AddSingleton<ITenantScope, SystemTenantScope>();
        await using var provider = services.BuildServiceProvider();
        var sweeper = new RetentionSweeper(provider.GetRequiredService<IServiceScopeFactory>(), TimeProvider.System,
            Options.Create(new RetentionOptions { BatchSize = batchSize, MaxPerRun = int.MaxValue, Parallelism = parallelism }), NullLogger<RetentionSweeper>.Instance);
        // EF Core builds its model and the pool opens a connection on first use, once per process: not part of a sweep.
        await using (var scope = provider.CreateAsyncScope())
            await scope.ServiceProvider.GetRequiredService<FeedbackHubDbContext>().Tenants.AnyAsync();
        var clock = Stopwatch.StartNew();
        var run = await sweeper.RunOnceAsync(CancellationToken.None);
        clock.Stop();
        await Console.Error.WriteLineAsync($"[bench] sweep: {run.Erased} erased, {run.Skipped} skipped, {run.Batches} batches");
        return clock.Elapsed.TotalSeconds;
    }

    private static string With(string pg, string database) =>
        new NpgsqlConnectionStringBuilder(pg) { Database = database, MaxPoolSize = 20 }.ConnectionString;

    private static async Task AdminAsync(string pg, string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(pg) { Database = "postgres", Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
