using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace FeedbackHub.Bench.Webhooks;

/// <summary>
/// Webhook throughput and latency: N events delivered through the real pipeline (raised on save, one Release worker process,
/// the worker's webhook dispatcher with 16 concurrent sends per subscription) to a
/// loopback receiver, against a raw HttpClient loop POSTing the same kind of signed bodies to the same receiver with the
/// same concurrency (16). Times are the receiver's arrival times minus the instant the batch became due.
/// </summary>
internal static class Program
{
    private const int Concurrency = 16;

    /// <summary>How many times the raw loop sends its N events; the run with the median rate is the limit.</summary>
    private const int RawRuns = 5;

    /// <summary>How many times the pipeline delivers N events (a fresh database and worker process each time); the run with the median rate is reported.</summary>
    private const int PipelineRuns = 3;

    public static async Task<int> Main(string[] args)
    {
        var n = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 500;
        var workerDll = args.Length > 1 ? args[1] : throw new InvalidOperationException("Usage: WebhookBench N WORKER_DLL");
        var pg = Environment.GetEnvironmentVariable("FEEDBACKHUB_PG") is { Length: > 0 } v ? v : throw new InvalidOperationException("FEEDBACKHUB_PG is not set.");
        if (n is < 1 or > 20_000)
            throw new InvalidOperationException("N must be between 1 and 20000 (the bench stays bounded).");

        await using var receiver = await Receiver.StartAsync();
        var raw = await RawLoopAsync(n, receiver);
        var pipelineRuns = new List<Stats>();
        for (var run = 1; run <= PipelineRuns; run++)
            pipelineRuns.Add(await PipelineAsync(n, pg, workerDll, receiver, run));
        var pipeline = Median(pipelineRuns);

        Console.WriteLine();
        Console.WriteLine($"N = {n} events per scenario, {Concurrency} concurrent sends, receiver on 127.0.0.1 answering 204; times from due time to arrival.");
        Console.WriteLine();
        Console.WriteLine("| scenario | events/s | ratio to raw | first arrived | p50 latency | p99 latency | last arrived |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var (name, s) in new[] { ($"raw HttpClient loop ({Concurrency} concurrent, signed bodies)", raw), ("pipeline, 1 worker process", pipeline) })
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {s.PerSecond:F0} | {s.PerSecond / raw.PerSecond:F2} | {s.First.TotalMilliseconds:F0} ms | {s.P50.TotalMilliseconds:F0} ms | {s.P99.TotalMilliseconds:F0} ms | {s.Last.TotalMilliseconds:F0} ms |"));
        }

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"The raw loop ran {RawRuns} times and the pipeline {PipelineRuns} times, each run with N fresh events; each row is the run with the median rate. Rates of the runs: raw loop {Rates(raw)}; pipeline {Rates(pipeline)} events/s. First arrival of each pipeline run (the worker's wake-up and first claim): {string.Join(", ", pipelineRuns.Select(r => r.First.TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture)))} ms."));
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"CPU time per event while they went out (less dependent on the load than the rates): raw loop {raw.CpuPerEvent.Bench:F3} ms (bench process: client and receiver); pipeline: worker {pipeline.CpuPerEvent.Worker:F3} ms, PostgreSQL {pipeline.CpuPerEvent.Postgres:F3} ms (the sessions on the bench database), bench process {pipeline.CpuPerEvent.Bench:F3} ms (receiver)."));
        Console.WriteLine();
        Console.WriteLine($"Writes of the pipeline's median run (until its audit events were sealed): {pipeline.Writes}. WAL per event of each run: {string.Join(", ", pipelineRuns.Select(r => r.Writes!.WalBytes.ToString("F0", CultureInfo.InvariantCulture)))} bytes.");
        Console.WriteLine();
        Console.WriteLine("Where that run's WAL went (pg_walinspect, the largest groups; the bench's own statement that makes the batch due is one update of `outbound` per event):");
        Console.WriteLine();
        Console.WriteLine(pipeline.Writes!.BreakdownTable());
        Console.WriteLine();
        WarmUp.WriteSummary("event");
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"BENCH webhooks ratio={pipeline.PerSecond / raw.PerSecond:F2} p99_ms={pipeline.P99.TotalMilliseconds:F0}"));
        return 0;
    }

    private sealed record Stats(double PerSecond, TimeSpan First, TimeSpan P50, TimeSpan P99, TimeSpan Last)
    {
        /// <summary>CPU time per event (ms) while the events went out: this process (client and/or receiver), the worker, PostgreSQL.</summary>
        public (double Bench, double Worker, double Postgres) CpuPerEvent { get; init; }

        /// <summary>What PostgreSQL wrote per event (pipeline runs only).</summary>
        public PgWrites? Writes { get; init; }

        /// <summary>The rate of each run of the scenario, in the order they ran.</summary>
        public IReadOnlyList<double> RunRates { get; init; } = [];
    }

    /// <summary>CPU time used so far by this process, the worker and the PostgreSQL sessions on the bench database (Linux /proc; sessions that end meanwhile are missed).</summary>
    private static async Task<(TimeSpan Bench, TimeSpan Worker, TimeSpan Postgres)> CpuAsync(Process? worker, string? connectionString)
    {
        var postgres = connectionString is null ? TimeSpan.Zero : await PgCpu.SessionsAsync(connectionString);
        return (Process.GetCurrentProcess().TotalProcessorTime, worker is null ? TimeSpan.Zero : BenchWorker.Cpu([worker]), postgres);
    }

    private static (double, double, double) PerEvent((TimeSpan Bench, TimeSpan Worker, TimeSpan Postgres) from, (TimeSpan Bench, TimeSpan Worker, TimeSpan Postgres) to, int n) =>
        ((to.Bench - from.Bench).TotalMilliseconds / n, (to.Worker - from.Worker).TotalMilliseconds / n, (to.Postgres - from.Postgres).TotalMilliseconds / n);

    private static Stats Compute(DateTimeOffset due, IReadOnlyCollection<DateTimeOffset> arrivals)
    {
        var latencies = arrivals.Select(a => a - due).Order().ToList();
        var last = latencies[^1];
        TimeSpan Pct(double p) => latencies[Math.Clamp((int)Math.Ceiling(p * latencies.Count) - 1, 0, latencies.Count - 1)];
        return new Stats(latencies.Count / last.TotalSeconds, latencies[0], Pct(0.50), Pct(0.99), last);
    }

    private static async Task<Stats> RawLoopAsync(int n, Receiver receiver)
    {
        var secret = WebhookSubscription.NewSecret();
        var path = "/raw-" + Guid.NewGuid().ToString("N")[..8];
        Secrets[receiver.Url(path)] = secret; // the receiver checks these signatures too, as it does the pipeline's
        var bodies = Enumerable.Range(0, WarmUp.MaxRounds * WarmUp.Round + RawRuns * n).Select(_ =>
        {
            var e = WebhookEvent.Create(Guid.NewGuid(), WebhookEventTypes.FeedbackRequested, DateTimeOffset.UtcNow,
                new WebhookEventData(Guid.NewGuid(), "ext-" + Guid.NewGuid().ToString("N")[..12], Guid.NewGuid(), "cand-1", RequestId: Guid.NewGuid()));
            return (e.Id, e.Body);
        }).ToList();
        using var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false, MaxConnectionsPerServer = Concurrency });

        async Task RunAsync(int from, int count)
        {
            var next = from - 1;
            await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(async _ =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < from + count)
                {
                    var (id, body) = bodies[i];
                    using var request = new HttpRequestMessage(HttpMethod.Post, receiver.Url(path)) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body)) };
                    request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                    request.Headers.TryAddWithoutValidation(WebhookSignature.Header, WebhookSignature.HeaderValue(secret, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), body));
                    request.Headers.TryAddWithoutValidation("FeedbackHub-Event-Id", id.ToString());
                    using var response = await client.SendAsync(request);
                    response.EnsureSuccessStatusCode();
                }
            }));
        }

        // Warmed up as the worker is (WarmUp.Round): JIT and its tiering, connections.
        var warm = WarmUp.Round * await WarmUp.RunAsync("raw loop", WarmUp.Round, [Environment.ProcessId], () => Process.GetCurrentProcess().TotalProcessorTime,
            round => RunAsync(round * WarmUp.Round, WarmUp.Round));
        var runs = new List<Stats>();
        for (var run = 0; run < RawRuns; run++)
        {
            var due = DateTimeOffset.UtcNow;
            var cpu = await CpuAsync(null, null);
            await RunAsync(warm + run * n, n);
            var cpuPerEvent = PerEvent(cpu, await CpuAsync(null, null), n);
            var arrivals = receiver.Arrivals(path);
            if (arrivals.Count != warm + (run + 1) * n || arrivals.Any(a => !a.Valid))
                throw new InvalidOperationException($"raw loop: {arrivals.Count} of {warm + (run + 1) * n} arrived.");
            runs.Add(Compute(due, arrivals.Where(a => a.At >= due).Select(a => a.At).ToList()) with { CpuPerEvent = cpuPerEvent });
        }

        var stats = Median(runs);
        Console.Error.WriteLine($"raw loop: {stats}");
        return stats;
    }

    private static string Rates(Stats median) => Repeated.Rates(median.RunRates);

    /// <summary>The run with the median rate (<see cref="Repeated"/>), carrying every run's rate in order.</summary>
    private static Stats Median(IReadOnlyList<Stats> runs) =>
        Repeated.Median(runs, r => r.PerSecond) with { RunRates = [.. runs.Select(r => r.PerSecond)] };

    private static async Task<Stats> PipelineAsync(int n, string pgServer, string workerDll, Receiver receiver, int run)
    {
        var dbName = "fh_bench_" + Guid.NewGuid().ToString("N")[..12];
        var conn = new NpgsqlConnectionStringBuilder(pgServer) { Database = dbName, Pooling = true }.ConnectionString;
        var admin = new NpgsqlConnectionStringBuilder(pgServer) { Database = "postgres", Pooling = false }.ConnectionString;
        var key = RandomNumberGenerator.GetBytes(32);
        var box = new WebhookSecretBox(key);
        await Admin(admin, $"CREATE DATABASE \"{dbName}\"");
        Process? worker = null;
        try
        {
            var options = new DbContextOptionsBuilder<FeedbackHubDbContext>();
            PersistenceExtensions.Configure(options, conn);
            await using (var db = FeedbackHubDbContext.Create(options.Options, new SystemTenantScope()))
                await db.Database.MigrateAsync();
            if (Environment.GetEnvironmentVariable("FEEDBACKHUB_BENCH_SQL_AFTER_MIGRATE") is { Length: > 0 } experiment)
                await Admin(conn, experiment); // a schema experiment (bench/webhooks/README.md)
            var path = "/pipeline-" + Guid.NewGuid().ToString("N")[..8];
            var tenant = await ArrangeAsync(options.Options, box, receiver.Url(path), n);

            worker = await BenchWorker.StartAsync(workerDll, conn, "bench" + Guid.NewGuid().ToString("N")[..8],
                new Dictionary<string, string> { ["Webhooks__SecretKey"] = Convert.ToBase64String(key) });
            await WarmUp.RunAsync($"pipeline, 1 worker process, run {run}", WarmUp.Round, [worker.Id], () => BenchWorker.Cpu([worker]), async round =>
            {
                var warmPath = $"/warm{round}-" + Guid.NewGuid().ToString("N")[..8];
                var warmTenant = await ArrangeAsync(options.Options, box, receiver.Url(warmPath), WarmUp.Round);
                await MakeDueAsync(options.Options, warmTenant, DateTimeOffset.UtcNow);
                await WaitAsync(() => receiver.Arrivals(warmPath).Count >= WarmUp.Round, TimeSpan.FromMinutes(2), "a warm-up round");
            });
            await Task.Delay(1000);
            await PgWrites.AnalyzeAsync(conn);
            await PgWrites.SettleAsync(conn);
            var writesBefore = await PgWrites.ReadAsync(conn);

            var due = DateTimeOffset.UtcNow;
            var cpu = await CpuAsync(worker, conn);
            await MakeDueAsync(options.Options, tenant, due);
            await WaitAsync(() => receiver.Arrivals(path).Count >= n, TimeSpan.FromMinutes(5), $"{n} pipeline events");
            var cpuPerEvent = PerEvent(cpu, await CpuAsync(worker, conn), n);
            await Task.Delay(500);
            var arrivals = receiver.Arrivals(path);
            await using (var db = FeedbackHubDbContext.Create(options.Options, new SystemTenantScope()))
            {
                var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
                while (await db.WebhookDeliveries.CountAsync(d => d.TenantId == tenant && d.Status == OutboundStatus.Sent) < n && DateTime.UtcNow < deadline)
                    await Task.Delay(100);
                var delivered = await db.WebhookDeliveries.CountAsync(d => d.TenantId == tenant && d.Status == OutboundStatus.Sent);
                var distinct = arrivals.Select(a => a.EventId).Distinct().Count();
                if (delivered != n || arrivals.Count != n || distinct != n || arrivals.Any(a => !a.Valid))
                    throw new InvalidOperationException($"{delivered} of {n} Delivered, {arrivals.Count} arrivals, {distinct} distinct event ids, {arrivals.Count(a => !a.Valid)} bad signatures: not exactly once.");
            }

            // The writes the batch cost, its audit events' sealing included.
            await PgWrites.SettleAsync(conn);
            var writes = await PgWrites.BetweenAsync(conn, writesBefore, await PgWrites.ReadAsync(conn), n);
            var stats = Compute(due, arrivals.Select(a => a.At).ToList()) with { CpuPerEvent = cpuPerEvent, Writes = writes };
            Console.Error.WriteLine($"pipeline: {stats}");
            // How the batch drained: the arrival time of each tenth of the events (a slow start shows here, not in the rate).
            var ordered = arrivals.Select(a => (a.At - due).TotalMilliseconds).Order().ToList();
            Console.Error.WriteLine("pipeline arrivals by tenth (ms): " + string.Join(' ', Enumerable.Range(1, 10).Select(t => ordered[Math.Max(0, (t * ordered.Count / 10) - 1)].ToString("F0", CultureInfo.InvariantCulture))));
            return stats;
        }
        finally
        {
            if (worker is not null)
            {
                worker.Kill(entireProcessTree: true);
                await worker.WaitForExitAsync();
                worker.Dispose();
            }

            NpgsqlConnection.ClearAllPools();
            await Admin(admin, $"DROP DATABASE IF EXISTS \"{dbName}\" WITH (FORCE)");
        }
    }

    /// <summary>
    /// A development tenant subscribed to feedback.requested at the receiver, and N candidates' requests saved in one
    /// unit of work, so the real raising code creates the events and deliveries; the deliveries are then moved an hour
    /// ahead until the measured instant.
    /// </summary>
    private static async Task<Guid> ArrangeAsync(DbContextOptions<FeedbackHubDbContext> options, WebhookSecretBox box, string url, int n)
    {
        var now = DateTimeOffset.UtcNow;
        await using var db = FeedbackHubDbContext.Create(options, new SystemTenantScope());
        var tenant = Tenant.Create("Bench " + Guid.NewGuid().ToString("N")[..6], now, TenantSettings.Default with { AllowPrivateWebhookTargets = true });
        db.Tenants.Add(tenant);
        var (subscription, secret) = WebhookSubscription.Create(tenant.Id, WebhookTargets.ParseUrl(url, allowPrivate: true), [WebhookEventTypes.FeedbackRequested], null, box, now);
        db.WebhookSubscriptions.Add(subscription);
        await db.SaveChangesAsync();
        Secrets[url] = secret;
        for (var i = 0; i < n; i++)
        {
            var external = "ext-" + Guid.NewGuid().ToString("N")[..12];
            var candidate = Candidate.Create(tenant.Id, new CandidateDetails("cand-" + external, "Ada", null, $"ada-{Guid.NewGuid():N}@example.test", null), now);
            var application = Application.Create(tenant.Id, external, candidate.Id, new ApplicationDetails("Engineer", null, null), now);
            application.Reject(now, now);
            db.AddRange(candidate, application, FeedbackRequest.Create(tenant.Id, application.Id, null, now));
        }

        await db.SaveChangesAsync();
        // Held until the measured instant: the deliveries (which the worker's dispatcher finds due in the table) and any outbox rows.
        // Rows locked in id order, as the worker's record locks them: a warm-up round's rows are written while the worker
        // runs, which may claim some before this moves them (a deadlock with its record, otherwise; the record retries).
        await db.Database.ExecuteSqlAsync($"UPDATE outbound SET due_at = {now.AddHours(1)} WHERE id IN (SELECT id FROM outbound WHERE tenant_id = {tenant.Id} AND channel = 'webhook' ORDER BY id FOR UPDATE)");
        await db.Database.ExecuteSqlAsync($"UPDATE outbox_messages SET due_at = {now.AddHours(1)} WHERE tenant_id = {tenant.Id}");
        return tenant.Id;
    }

    private static readonly ConcurrentDictionary<string, string> Secrets = new();

    private static async Task MakeDueAsync(DbContextOptions<FeedbackHubDbContext> options, Guid tenantId, DateTimeOffset due)
    {
        await using var db = FeedbackHubDbContext.Create(options, new SystemTenantScope());
        await using var tx = await db.Database.BeginTransactionAsync();
        await db.Database.ExecuteSqlAsync($"UPDATE outbound SET due_at = {due} WHERE id IN (SELECT id FROM outbound WHERE tenant_id = {tenantId} AND channel = 'webhook' ORDER BY id FOR UPDATE)");
        await db.Database.ExecuteSqlAsync($"UPDATE outbox_messages SET due_at = {due} WHERE tenant_id = {tenantId}");
        // As the product's save of new deliveries does (OutboundWakeUps): the worker's webhook dispatcher wakes when this commits.
        await db.Database.ExecuteSqlAsync($"SELECT pg_notify({OutboundWakeUps.Channel}, {OutboundWakeUps.Webhooks})");
        await tx.CommitAsync();
    }

    private static async Task WaitAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Timed out waiting for {what}.");
            await Task.Delay(20);
        }
    }

    private static async Task Admin(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>A Kestrel receiver on 127.0.0.1 that answers 204 and records arrival time, event id and whether the signature checks out.</summary>
    private sealed class Receiver : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ConcurrentQueue<(string Path, string EventId, DateTimeOffset At, bool Valid)> _arrivals = new();

        private Receiver(WebApplication app) => _app = app;

        private int Port { get; set; }

        public string Url(string path) => $"http://127.0.0.1:{Port}{path}";

        public List<(string EventId, DateTimeOffset At, bool Valid)> Arrivals(string path) =>
            _arrivals.Where(a => a.Path == path).Select(a => (a.EventId, a.At, a.Valid)).ToList();

        public static async Task<Receiver> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var receiver = new Receiver(app);
            app.Run(async context =>
            {
                using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
                var body = await reader.ReadToEndAsync();
                var at = DateTimeOffset.UtcNow;
                var path = context.Request.Path.Value ?? "/";
                var header = context.Request.Headers[WebhookSignature.Header].ToString();
                var valid = !Secrets.TryGetValue(receiver.Url(path), out var secret) || Verify(secret, header, body);
                receiver._arrivals.Enqueue((path, context.Request.Headers["FeedbackHub-Event-Id"].ToString(), at, valid));
                context.Response.StatusCode = 204;
            });
            await app.StartAsync();
            receiver.Port = new Uri(app.Urls.Single()).Port;
            return receiver;
        }

        private static bool Verify(string secret, string header, string body)
        {
            var parts = header.Split(',').Select(p => p.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
            return parts.TryGetValue("t", out var t) && parts.TryGetValue("v1", out var v1)
                && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(WebhookSignature.Compute(secret, long.Parse(t, CultureInfo.InvariantCulture), body)), Encoding.ASCII.GetBytes(v1));
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
