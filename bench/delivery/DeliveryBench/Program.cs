using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FeedbackHub.Api.Commands;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Email;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Rendering;
using FeedbackHub.Domain.Templates;
using FeedbackHub.Worker.Smtp;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FeedbackHub.Bench.Delivery;

/// <summary>
/// Delivery throughput and latency: N approved deliveries due at the same instant, sent by 1 and by 2 real worker
/// processes, against a raw SMTP send loop (the worker's own NoDelay client, 8 connections) to the same sink.
/// Times come from the sink's smtp-log.jsonl (acceptance) and the deliveries' due_at (due time).
/// </summary>
internal static class Program
{
    private static readonly Actor Author = new(Guid.NewGuid(), "Author");

    private static readonly Actor Reviewer = new(Guid.NewGuid(), "Reviewer");

    private static long _logStart;

    /// <summary>run.sh --tls: STARTTLS + AUTH against a private sink with a self-signed certificate; otherwise plain SMTP.</summary>
    private static SmtpSecurity Security => Environment.GetEnvironmentVariable("BENCH_SMTP_SECURITY") is { Length: > 0 } s ? Enum.Parse<SmtpSecurity>(s) : SmtpSecurity.None;

    private static string? Username => Environment.GetEnvironmentVariable("BENCH_SMTP_USERNAME");

    private static string? Password => Environment.GetEnvironmentVariable("BENCH_SMTP_PASSWORD");

    public static async Task<int> Main(string[] args)
    {
        string Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : throw new InvalidOperationException($"{name} is not set.");
        var n = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 500;
        var workerDll = args.Length > 1 ? args[1] : throw new InvalidOperationException("Usage: DeliveryBench N WORKER_DLL");
        var pg = Env("FEEDBACKHUB_PG");
        var smtpHost = Env("FEEDBACKHUB_SMTP_HOST");
        var smtpPort = int.Parse(Env("FEEDBACKHUB_SMTP_PORT"), CultureInfo.InvariantCulture);
        var smtpLog = Path.Combine(Env("FEEDBACKHUB_SMTP_DIR"), "smtp-log.jsonl");

        _logStart = File.Exists(smtpLog) ? new FileInfo(smtpLog).Length : 0;
        var rows = new List<(string Name, Stats Stats)>();
        var raw = await RawLoopAsync(n, smtpHost, smtpPort, smtpLog);
        var mode = Security == SmtpSecurity.None ? "plain SMTP" : $"{Security} + AUTH";
        rows.Add(($"raw SMTP loop, {mode} (the worker's MailKit sender, 8 connections, NoDelay)", raw));
        foreach (var workers in new[] { 1, 2 })
            rows.Add(($"pipeline, {mode}, {workers} worker process{(workers > 1 ? "es" : "")}", await PipelineAsync(n, workers, pg, workerDll, smtpHost, smtpPort, smtpLog)));

        Console.WriteLine();
        Console.WriteLine($"N = {n} emails per scenario, all due at the same instant; times from due time to the sink's acceptance.");
        Console.WriteLine();
        Console.WriteLine("| scenario | emails/s | ratio to raw | p50 latency | p99 latency | last accepted | worker CPU per email |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var (name, s) in rows)
        {
            var cpu = s.WorkerCpuPerEmail is { } c ? string.Create(CultureInfo.InvariantCulture, $"{c.TotalMilliseconds:F2} ms") : "-";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {s.PerSecond:F0} | {s.PerSecond / raw.PerSecond:F2} | {s.P50.TotalMilliseconds:F0} ms | {s.P99.TotalMilliseconds:F0} ms | {s.Last.TotalMilliseconds:F0} ms | {cpu} |"));
        }

        // One line per scenario in the format bench/run-all.sh collects.
        Console.WriteLine();
        var suffix = Security == SmtpSecurity.None ? string.Empty : "-tls";
        foreach (var (scenario, s) in new[] { ($"delivery{suffix}", rows[1].Stats), ($"delivery{suffix}-2workers", rows[2].Stats) })
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"BENCH {scenario} ratio={s.PerSecond / raw.PerSecond:F2} p99_ms={s.P99.TotalMilliseconds:F0} cpu_ms_per_email={s.WorkerCpuPerEmail?.TotalMilliseconds ?? 0:F2}"));

        return 0;
    }

    /// <summary>
    /// Emails each worker sends before the measured batch: more than one full pipeline (Delivery:BatchSize, 256), so every
    /// per-email method has run well past the runtime's 30 calls and been recompiled at tier 1 before the clock starts. With
    /// 20, the measured batch paid for that recompilation (the JIT's own counters showed 0.3-0.45 s of compilation per
    /// second of the batch), which a worker that runs for hours pays once.
    /// </summary>
    private const int WarmUpPerWorker = 400;

    private sealed record Stats(double PerSecond, TimeSpan P50, TimeSpan P99, TimeSpan Last, TimeSpan? WorkerCpuPerEmail = null);

    private static TimeSpan WorkerCpu(IEnumerable<Process> processes) =>
        processes.Aggregate(TimeSpan.Zero, (sum, p) =>
        {
            p.Refresh();
            return sum + p.TotalProcessorTime;
        });

    private static Stats Compute(DateTimeOffset due, IReadOnlyList<DateTimeOffset> accepted)
    {
        var latencies = accepted.Select(a => a - due).Order().ToList();
        var last = latencies[^1];
        TimeSpan Pct(double p) => latencies[Math.Clamp((int)Math.Ceiling(p * latencies.Count) - 1, 0, latencies.Count - 1)];
        return new Stats(latencies.Count / last.TotalSeconds, Pct(0.50), Pct(0.99), last);
    }

    /// <summary>Acceptance times of the sink for recipients containing the tag (millisecond resolution).</summary>
    private static List<DateTimeOffset> Accepted(string smtpLog, string tag)
    {
        using var stream = new FileStream(smtpLog, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        stream.Seek(Math.Min(_logStart, stream.Length), SeekOrigin.Begin); // only this run's lines: the log is shared and long
        using var reader = new StreamReader(stream);
        var times = new List<DateTimeOffset>();
        while (reader.ReadLine() is { } line)
        {
            if (!line.Contains(tag, StringComparison.Ordinal) || !line.Contains("\"accepted\"", StringComparison.Ordinal))
                continue;
            using var doc = JsonDocument.Parse(line);
            times.Add(DateTimeOffset.Parse(doc.RootElement.GetProperty("ts").GetString()!, CultureInfo.InvariantCulture));
        }

        return times;
    }

    private static async Task<List<DateTimeOffset>> WaitAcceptedAsync(string smtpLog, string tag, int n, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var times = Accepted(smtpLog, tag);
            if (times.Count >= n)
                return times;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{times.Count} of {n} accepted in time.");
            await Task.Delay(500);
        }
    }

    private static EmailMessage Sample(string to, TemplateVersion? version = null)
    {
        var content = version?.Content ?? ExampleTemplates.Engineering.Content;
        var answers = content.Criteria.Select(c => new Answer(c.Key, c.Bands[0].Key)).ToList();
        var rendered = FeedbackEmailRenderer.Render(content, answers, new MergeValues("Ada", "Backend Engineer", "Acme", DateTimeOffset.UtcNow), EmailFooter.For("Acme", TenantSettings.Default));
        return new EmailMessage(new MailboxAddress("Acme Talent", "feedback@acme.example"), new MailboxAddress("Ada", to), null,
            rendered.Subject, rendered.Text, rendered.Html, $"bench.{Guid.NewGuid():N}@feedbackhub.local", DateTimeOffset.UtcNow);
    }

    private static async Task<Stats> RawLoopAsync(int n, string host, int port, string smtpLog)
    {
        var tag = "rawbench" + Guid.NewGuid().ToString("N")[..8];
        var messages = Enumerable.Range(0, n).Select(_ => Sample($"{tag}-{Guid.NewGuid():N}@example.test")).ToList();
        var tls = Security != SmtpSecurity.None;
        await using var pool = new MailKitEmailSender(
            Options.Create(new SmtpOptions
            {
                Host = host, Port = port, Security = Security, Username = Username, Password = Password, MaxConnections = 8,
                AllowUntrustedCertificates = tls, // the bench's own self-signed certificate (run.sh --tls)
            }),
            new SmtpHealth(Microsoft.Extensions.Logging.Abstractions.NullLogger<SmtpHealth>.Instance),
            new Microsoft.Extensions.Hosting.Internal.HostingEnvironment { EnvironmentName = tls ? "Development" : "Production" });
        var next = -1;
        var due = DateTimeOffset.UtcNow;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < n)
            {
                var result = await pool.SendAsync(messages[i], CancellationToken.None);
                if (!result.IsAccepted)
                    throw new InvalidOperationException($"SMTP {result}");
            }
        }));
        var stats = Compute(due, await WaitAcceptedAsync(smtpLog, tag, n, TimeSpan.FromSeconds(30)));
        Console.Error.WriteLine($"raw loop: {stats}");
        return stats;
    }

    private static async Task<Stats> PipelineAsync(int n, int workers, string pgServer, string workerDll, string smtpHost, int smtpPort, string smtpLog)
    {
        var dbName = "fh_bench_" + Guid.NewGuid().ToString("N")[..12];
        var conn = new NpgsqlConnectionStringBuilder(pgServer) { Database = dbName, Pooling = true }.ConnectionString;
        var admin = new NpgsqlConnectionStringBuilder(pgServer) { Database = "postgres", Pooling = false }.ConnectionString;
        await Admin(admin, $"CREATE DATABASE \"{dbName}\"");
        var processes = new List<Process>();
        try
        {
            var options = new DbContextOptionsBuilder<FeedbackHubDbContext>();
            PersistenceExtensions.Configure(options, conn);
            await using (var db = FeedbackHubDbContext.Create(options.Options, new SystemTenantScope()))
                await db.Database.MigrateAsync();
            var tag = $"bench{workers}w" + Guid.NewGuid().ToString("N")[..8];
            var tenantId = await ArrangeAsync(options.Options, tag, n);
            var warmTag = "warm" + Guid.NewGuid().ToString("N")[..8];
            var warmTenantId = await ArrangeAsync(options.Options, warmTag, WarmUpPerWorker * workers);

            var prefix = "bench" + Guid.NewGuid().ToString("N")[..8];
            for (var w = 0; w < workers; w++)
                processes.Add(await BenchWorker.StartAsync(workerDll, conn, prefix, SmtpSettings(new Dictionary<string, string>
                {
                    ["Smtp__Host"] = smtpHost,
                    ["Smtp__Port"] = smtpPort.ToString(CultureInfo.InvariantCulture),
                    ["Smtp__Security"] = Security.ToString(),
                    ["Webhooks__SecretKey"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
                })));

            // Warm-up (JIT and its tiering, EF query compilation, connection pools), then the measured batch: see WarmUpPerWorker.
            await MakeDueAsync(options.Options, warmTenantId, DateTimeOffset.UtcNow);
            await WaitAcceptedAsync(smtpLog, warmTag, WarmUpPerWorker * workers, TimeSpan.FromMinutes(2));
            await Task.Delay(2000);
            var cpuBefore = WorkerCpu(processes);
            var due = DateTimeOffset.UtcNow;
            await MakeDueAsync(options.Options, tenantId, due);

            var stats = Compute(due, await WaitAcceptedAsync(smtpLog, tag, n, TimeSpan.FromMinutes(5)));
            // The workers' own CPU per email (all their threads: consumers, relay, leases, sealer), from the due time to the
            // last acceptance: it moves much less than emails/s with what else the machine runs.
            var cpuPerEmail = (WorkerCpu(processes) - cpuBefore) / n;
            await using (var db = FeedbackHubDbContext.Create(options.Options, new SystemTenantScope()))
            {
                var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
                while (await db.Deliveries.CountAsync(d => d.TenantId == tenantId && d.Status == OutboundStatus.Sent) < n && DateTime.UtcNow < deadline)
                    await Task.Delay(100);
                var sent = await db.Deliveries.CountAsync(d => d.TenantId == tenantId && d.Status == OutboundStatus.Sent);
                if (sent != n || Accepted(smtpLog, tag).Count != n)
                    throw new InvalidOperationException($"{sent} of {n} marked Sent, {Accepted(smtpLog, tag).Count} accepted: not exactly once.");
            }

            Console.Error.WriteLine($"{workers} worker(s): {stats}");
            return stats with { WorkerCpuPerEmail = cpuPerEmail };
        }
        finally
        {
            foreach (var p in processes)
            {
                p.Kill(entireProcessTree: true);
                await p.WaitForExitAsync();
                p.Dispose();
            }

            NpgsqlConnection.ClearAllPools();
            await Admin(admin, $"DROP DATABASE IF EXISTS \"{dbName}\" WITH (FORCE)");
        }
    }

    /// <summary>With --tls: the account, and the development switch that trusts the bench's self-signed certificate.</summary>
    private static Dictionary<string, string> SmtpSettings(Dictionary<string, string> settings)
    {
        if (Username is { Length: > 0 })
        {
            settings["Smtp__Username"] = Username;
            settings["Smtp__Password"] = Password ?? string.Empty;
        }

        if (Security != SmtpSecurity.None)
        {
            settings["Smtp__AllowUntrustedCertificates"] = "true";
            settings["DOTNET_ENVIRONMENT"] = settings["ASPNETCORE_ENVIRONMENT"] = "Development";
        }

        return settings;
    }

    private static async Task MakeDueAsync(DbContextOptions<FeedbackHubDbContext> options, Guid tenantId, DateTimeOffset due)
    {
        await using var db = FeedbackHubDbContext.Create(options, new SystemTenantScope());
        await using var tx = await db.Database.BeginTransactionAsync();
        await db.Database.ExecuteSqlAsync($"UPDATE outbound SET due_at = {due} WHERE tenant_id = {tenantId}");
        await db.Database.ExecuteSqlAsync($"UPDATE outbox_messages SET due_at = {due} WHERE tenant_id = {tenantId}");
        await tx.CommitAsync();
    }

    private static async Task Admin(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>A tenant and N rejected applications with approved feedback and a request, scheduled an hour ahead.</summary>
    private static async Task<Guid> ArrangeAsync(DbContextOptions<FeedbackHubDbContext> options, string tag, int n)
    {
        var now = DateTimeOffset.UtcNow;
        await using var db = FeedbackHubDbContext.Create(options, new SystemTenantScope());
        var tenant = Tenant.Create("Acme " + tag, now, TenantSettings.Default with { CoolingOffDelay = TimeSpan.FromHours(1), SenderName = "Acme Talent", SenderAddress = "feedback@acme.example" });
        db.Tenants.Add(tenant);
        var (name, content) = ExampleTemplates.Engineering;
        var template = Template.Create(tenant.Id, name, "en", content, Author, now);
        template.Latest.Submit(now);
        template.Publish(template.Latest.Number, Reviewer, now);
        db.Templates.Add(template);
        await db.SaveChangesAsync();
        var version = template.Published!;
        var applications = new List<Guid>();
        for (var i = 0; i < n; i++)
        {
            var external = "ext-" + Guid.NewGuid().ToString("N")[..12];
            var candidate = Candidate.Create(tenant.Id, new CandidateDetails(external, "Ada", "Lovelace", $"{tag}-{Guid.NewGuid():N}@example.test", null), now);
            var application = Application.Create(tenant.Id, external, candidate.Id, new ApplicationDetails("Backend Engineer", null, null), now);
            application.Reject(now, now);
            var feedback = Feedback.Start(tenant.Id, application.Id, version, Author, now);
            feedback.Save(version.Content.Criteria.Select(c => new Answer(c.Key, c.Bands[0].Key)).ToList(), version.Content, Author, now, _ => []);
            feedback.Submit([], version.Content, Author, now, autoApproveTemplateOnly: false);
            feedback.Approve(Reviewer, now);
            db.AddRange(candidate, application, feedback, FeedbackRequest.Create(tenant.Id, application.Id, null, now));
            applications.Add(application.Id);
        }

        await db.SaveChangesAsync();
        await using var tx = await db.Database.BeginTransactionAsync();
        foreach (var id in applications)
        {
            var locked = await DeliveryScheduling.LockApplicationAsync(db, id, CancellationToken.None);
            _ = await DeliveryScheduling.TryScheduleAsync(db, locked, tenant.Id, "feedbackhub.local", now, CancellationToken.None)
                ?? throw new InvalidOperationException("Not scheduled.");
        }

        await db.SaveChangesAsync();
        await tx.CommitAsync();
        return tenant.Id;
    }

}
