using System.Diagnostics;
using System.Globalization;
using System.Text;
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
/// processes, against a raw SMTP send loop (the worker's own MailKit sender, 8 connections) to the same sink; then
/// one worker process with emails falling due one after another at half the raw loop's rate, for the latency at a
/// steady load. Times come from the sink's smtp-log.jsonl (acceptance) and the deliveries' due_at (due time).
/// </summary>
internal static class Program
{
    private static readonly Actor Author = new(Guid.NewGuid(), "Author");

    private static readonly Actor Reviewer = new(Guid.NewGuid(), "Reviewer");

    private static long _logStart;

    /// <summary>The tags of this run's recipients: their mail is removed from the sink's folder at the end (<see cref="RemoveMail"/>).</summary>
    private static readonly List<string> Tags = [];

    /// <summary>
    /// Deletes the server-delay rules of bench runs whose process is gone (killed with SIGKILL): left behind, a rule would
    /// slow every later run's mail. A file is named after its run's process id.
    /// </summary>
    private static void RemoveStaleRules(string folder)
    {
        if (!Directory.Exists(folder))
            return;
        foreach (var file in Directory.EnumerateFiles(folder, "delivery-bench-*.json"))
        {
            var pid = Path.GetFileNameWithoutExtension(file)["delivery-bench-".Length..];
            if (OperatingSystem.IsLinux() && int.TryParse(pid, CultureInfo.InvariantCulture, out var id) && !Directory.Exists($"/proc/{id}"))
                File.Delete(file);
        }
    }

    private static string Tagged(string prefix)
    {
        var tag = prefix + Guid.NewGuid().ToString("N")[..8];
        lock (Tags) // warm-up rounds are arranged on another thread
            Tags.Add(tag);
        return tag;
    }

    /// <summary>
    /// Deletes the files the sink stored for this run's recipients: a run sends tens of thousands of emails, and tests that
    /// read the shared sink's folder slow down as it grows. The sink's log keeps its lines.
    /// </summary>
    private static void RemoveMail(string smtpLog)
    {
        if (!File.Exists(smtpLog))
            return;
        var folder = Path.GetDirectoryName(smtpLog)!;
        foreach (var accepted in AcceptedLines(smtpLog, line => Tags.Exists(t => line.Contains(t, StringComparison.Ordinal))))
        {
            if (accepted.TryGetProperty("file", out var file) && file.GetString() is { Length: > 0 } relative)
                File.Delete(Path.Combine(folder, relative));
        }
    }

    /// <summary>run.sh --tls: STARTTLS + AUTH against a private sink with a self-signed certificate; otherwise plain SMTP.</summary>
    private static SmtpSecurity Security => Environment.GetEnvironmentVariable("BENCH_SMTP_SECURITY") is { Length: > 0 } s ? Enum.Parse<SmtpSecurity>(s) : SmtpSecurity.None;

    private static string? Username => Environment.GetEnvironmentVariable("BENCH_SMTP_USERNAME");

    private static string? Password => Environment.GetEnvironmentVariable("BENCH_SMTP_PASSWORD");

    /// <summary>
    /// run.sh --server-delay MS: the sink waits this long before it answers each message of this run (a mail server's own
    /// time per message), so each process is bound by its connections (<c>Smtp:MaxConnections</c>, 8, like the raw loop)
    /// and not by the machine's CPU. 0: answer at once.
    /// </summary>
    private static int ServerDelayMs => Environment.GetEnvironmentVariable("BENCH_SMTP_DELAY_MS") is { Length: > 0 } d ? int.Parse(d, CultureInfo.InvariantCulture) : 0;

    /// <summary>Every recipient of the bench is at this domain: the server delay's rule matches it, and no test's mail.</summary>
    private const string Domain = "delivery-bench.example";

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
        // The sink reads smtp-rules.d/*.json beside its log, one file per writer (scripts/smtp_sink.py).
        var rules = Path.Combine(Path.GetDirectoryName(smtpLog)!, "smtp-rules.d", $"delivery-bench-{Environment.ProcessId}.json");
        RemoveStaleRules(Path.GetDirectoryName(rules)!);
        // File.Delete throws when the folder is missing (a fresh install without a --server-delay run): only delete what was written.
        void DeleteRules()
        {
            if (File.Exists(rules))
                File.Delete(rules);
        }

        AppDomain.CurrentDomain.ProcessExit += (_, _) => DeleteRules(); // also on SIGTERM, which skips the finally below
        if (ServerDelayMs > 0)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(rules)!);
            File.WriteAllText(rules, JsonSerializer.Serialize(new { rules = new[] { new { match = "@" + Domain, stage = "data", delay_ms = ServerDelayMs } } }));
        }

        try
        {
            return await RunAsync(n, workerDll, pg, smtpHost, smtpPort, smtpLog);
        }
        finally
        {
            DeleteRules();
            RemoveMail(smtpLog);
        }
    }

    private static async Task<int> RunAsync(int n, string workerDll, string pg, string smtpHost, int smtpPort, string smtpLog)
    {
        var rows = new List<(string Name, Stats Stats)>();
        var raw = await RawLoopAsync(n, smtpHost, smtpPort, smtpLog);
        var mode = Security == SmtpSecurity.None ? "plain SMTP" : $"{Security} + AUTH";
        rows.Add(($"raw SMTP loop, {mode} (the worker's MailKit sender, 8 connections, NoDelay)", raw));
        foreach (var workers in new[] { 1, 2 })
            rows.Add(($"pipeline, {mode}, {workers} worker process{(workers > 1 ? "es" : "")}", await PipelineAsync(n, workers, pg, workerDll, smtpHost, smtpPort, smtpLog)));
        var steadyRate = raw.PerSecond / 2;
        var steadyN = (int)Math.Ceiling(steadyRate * SteadySeconds);
        var steady = await PipelineAsync(steadyN, 1, pg, workerDll, smtpHost, smtpPort, smtpLog, steadyRate);

        Console.WriteLine();
        if (ServerDelayMs > 0)
            Console.WriteLine($"The sink waited {ServerDelayMs} ms before answering each message (--server-delay).");
        Console.WriteLine($"N = {n} emails per scenario, all due at the same instant; times from due time to the sink's acceptance. Machine CPU busy: the share of all {Environment.ProcessorCount} cores in use by every process (workers, PostgreSQL, RabbitMQ, sink, this program) over the same interval.");
        Console.WriteLine();
        Console.WriteLine("| scenario | emails/s | ratio to raw | p50 latency | p99 latency | last accepted | worker CPU per email | PostgreSQL CPU per email | machine CPU busy |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (name, s) in rows)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {s.PerSecond:F0} | {s.PerSecond / raw.PerSecond:F2} | {s.P50.TotalMilliseconds:F0} ms | {s.P99.TotalMilliseconds:F0} ms | {s.Last.TotalMilliseconds:F0} ms | {Ms(s.WorkerCpuPerEmail)} | {Ms(s.PostgresCpuPerEmail)} | {Percent(s.MachineBusy)} |"));
        }

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"The raw loop sent N fresh emails {RawRuns} times; its row is the run with the median rate. Rates of the runs: {Repeated.Rates(raw.RunRates!)} emails/s."));
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Steady rate, 1 worker process: {steadyN} emails falling due one after another at half the raw loop's rate ({steadyRate:F0}/s) for {SteadySeconds} s; each email's latency from its own due time to the sink's acceptance."));
        Console.WriteLine();
        Console.WriteLine("| scenario | offered emails/s | sent emails/s | p50 latency | p99 latency | worst latency | worker CPU per email | PostgreSQL CPU per email | machine CPU busy |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| pipeline, {mode}, 1 worker process, steady | {steadyRate:F0} | {steady.PerSecond:F0} | {steady.P50.TotalMilliseconds:F0} ms | {steady.P99.TotalMilliseconds:F0} ms | {steady.Last.TotalMilliseconds:F0} ms | {Ms(steady.WorkerCpuPerEmail)} | {Ms(steady.PostgresCpuPerEmail)} | {Percent(steady.MachineBusy)} |"));
        Console.WriteLine();
        Console.WriteLine("PostgreSQL CPU per email: the sessions on the bench database (the workers' and this program's), from the due time to the last acceptance; the audit sealing that follows is not in it.");
        Console.WriteLine();
        Console.WriteLine("What PostgreSQL wrote per email, the audit events' sealing included:");
        foreach (var (name, s) in rows.Skip(1).Append(($"pipeline, {mode}, 1 worker process, steady", steady)))
            Console.WriteLine($"- {name}: {s.Writes}");
        Console.WriteLine();
        Console.WriteLine("Where the WAL of the 1-worker run went (pg_walinspect, the largest groups; the bench's own statement that makes the batch due is one update of `outbound` per email):");
        Console.WriteLine();
        Console.WriteLine(rows[1].Stats.Writes!.BreakdownTable());
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"The runtime's tiered compilation during each measured batch (its thread's share of the workers' CPU): {string.Join(", ", rows.Skip(1).Append(("steady", steady)).Select(r => $"{r.Item1.Replace($"pipeline, {mode}, ", string.Empty)} {r.Item2.TieringShare:P1}"))}."));
        Console.WriteLine();
        WarmUp.WriteSummary("email");

        // One line per scenario in the format bench/run-all.sh collects.
        Console.WriteLine();
        var suffix = (Security == SmtpSecurity.None ? string.Empty : "-tls") + (ServerDelayMs > 0 ? $"-server{ServerDelayMs}ms" : string.Empty);
        foreach (var (scenario, s) in new[] { ($"delivery{suffix}", rows[1].Stats), ($"delivery{suffix}-2workers", rows[2].Stats) })
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"BENCH {scenario} ratio={s.PerSecond / raw.PerSecond:F2} p99_ms={s.P99.TotalMilliseconds:F0} cpu_ms_per_email={s.WorkerCpuPerEmail?.TotalMilliseconds ?? 0:F2} pg_cpu_ms_per_email={s.PostgresCpuPerEmail?.TotalMilliseconds ?? 0:F2} tiering_share={s.TieringShare ?? 0:F3}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"BENCH delivery{suffix}-steady ratio={steady.PerSecond / raw.PerSecond:F2} p99_ms={steady.P99.TotalMilliseconds:F0} offered_per_s={steadyRate:F0} cpu_ms_per_email={steady.WorkerCpuPerEmail?.TotalMilliseconds ?? 0:F2} pg_cpu_ms_per_email={steady.PostgresCpuPerEmail?.TotalMilliseconds ?? 0:F2}"));

        return 0;
    }

    /// <summary>
    /// Where warm-up mail goes (<see cref="WarmUp"/>): the --server-delay rule does not match it, since the warm-up is for
    /// the runtime, not the mail server.
    /// </summary>
    private const string WarmDomain = "warm." + Domain;

    private static string Ms(TimeSpan? value) => value is { } v ? string.Create(CultureInfo.InvariantCulture, $"{v.TotalMilliseconds:F2} ms") : "-";

    /// <summary>How long the steady-rate scenario offers emails: its N is half the raw loop's rate times this.</summary>
    private const int SteadySeconds = 15;

    /// <param name="RunRates">The raw loop's rate in each of its runs, in the order they ran (null for the pipeline).</param>
    private sealed record Stats(double PerSecond, TimeSpan P50, TimeSpan P99, TimeSpan Last, TimeSpan? WorkerCpuPerEmail = null, double? MachineBusy = null,
        IReadOnlyList<double>? RunRates = null, PgWrites? Writes = null, TimeSpan? PostgresCpuPerEmail = null, double? TieringShare = null);

    /// <summary>
    /// The whole machine's CPU time so far, busy and total, in clock ticks (Linux <c>/proc/stat</c>'s first line: busy is
    /// everything but idle and iowait); null elsewhere. Two readings give the share of all cores that every process on
    /// the machine (the workers, PostgreSQL, RabbitMQ, the sink, this program) kept busy in between.
    /// </summary>
    private static (long Busy, long Total)? MachineCpu()
    {
        if (!File.Exists("/proc/stat"))
            return null;
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8)
            .Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        var total = fields.Sum();
        return (total - fields[3] - fields[4], total);
    }

    private static double? BusyBetween((long Busy, long Total)? before, (long Busy, long Total)? after) =>
        before is { } b && after is { } a && a.Total > b.Total ? (double)(a.Busy - b.Busy) / (a.Total - b.Total) : null;

    private static string Percent(double? share) => share is { } s ? string.Create(CultureInfo.InvariantCulture, $"{s * 100:F0}%") : "-";

    private static Stats Compute(DateTimeOffset due, IReadOnlyList<DateTimeOffset> accepted) =>
        Compute([.. accepted.Select(a => a - due)], accepted.Max() - due);

    /// <summary>Percentiles of the latencies; emails/s over <paramref name="span"/> (from the first due time to the last acceptance).</summary>
    private static Stats Compute(IReadOnlyList<TimeSpan> latencies, TimeSpan span)
    {
        var sorted = latencies.Order().ToList();
        TimeSpan Pct(double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
        return new Stats(sorted.Count / span.TotalSeconds, Pct(0.50), Pct(0.99), sorted[^1]);
    }

    /// <summary>
    /// Steady rate: email i falls due at <paramref name="start"/> + i x <paramref name="step"/> (its index is in its
    /// recipient's address, see <see cref="ArrangeAsync"/>), and its latency runs from its own due time.
    /// </summary>
    private static Stats ComputeSteady(DateTimeOffset start, TimeSpan step, string tag, IReadOnlyList<(string Recipient, DateTimeOffset At)> accepted)
    {
        var latencies = accepted.Select(a => a.At - (start + step * IndexOf(a.Recipient, tag))).ToList();
        return Compute(latencies, accepted.Max(a => a.At) - start);
    }

    private static int IndexOf(string recipient, string tag) =>
        int.Parse(recipient.AsSpan(recipient.IndexOf(tag, StringComparison.Ordinal) + tag.Length + 1, IndexDigits), CultureInfo.InvariantCulture);

    private const int IndexDigits = 6;

    /// <summary>Acceptance times of the sink for recipients containing the tag (millisecond resolution).</summary>
    private static List<DateTimeOffset> Accepted(string smtpLog, string tag) => [.. AcceptedBy(smtpLog, tag).Select(a => a.At)];

    /// <summary>The sink's acceptances for recipients containing the tag: each one's first recipient and time.</summary>
    private static List<(string Recipient, DateTimeOffset At)> AcceptedBy(string smtpLog, string tag) =>
        [.. AcceptedLines(smtpLog, line => line.Contains(tag, StringComparison.Ordinal)).Select(accepted =>
            (accepted.GetProperty("rcpt_tos")[0].GetString()!, AcceptedAt(accepted)))];

    /// <summary>When the sink accepted the message of an "accepted" line (millisecond resolution).</summary>
    private static DateTimeOffset AcceptedAt(JsonElement accepted) =>
        DateTimeOffset.Parse(accepted.GetProperty("ts").GetString()!, CultureInfo.InvariantCulture);

    /// <summary>
    /// This run's "accepted" lines of the sink's log (it is shared and long: only what was written since the run began)
    /// that <paramref name="wanted"/> keeps, each parsed (the element is valid until the next one is read).
    /// </summary>
    private static IEnumerable<JsonElement> AcceptedLines(string smtpLog, Func<string, bool> wanted)
    {
        var position = _logStart;
        return AcceptedIn(NewLines(smtpLog, ref position), wanted);
    }

    private static IEnumerable<JsonElement> AcceptedIn(IEnumerable<string> lines, Func<string, bool> wanted)
    {
        foreach (var line in lines)
        {
            if (!line.Contains("\"accepted\"", StringComparison.Ordinal) || !wanted(line))
                continue;
            using var doc = JsonDocument.Parse(line);
            yield return doc.RootElement;
        }
    }

    /// <summary>The sink log's length now: a batch's acceptances are read from the mark taken before it was sent or made due.</summary>
    private static long LogMark(string smtpLog) => File.Exists(smtpLog) ? new FileInfo(smtpLog).Length : 0;

    /// <summary>
    /// The whole lines written to the sink's log from <paramref name="position"/> on (the sink may be writing the last one
    /// as it is read: a part-line is left for the next read), and moves the position past them.
    /// </summary>
    private static string[] NewLines(string smtpLog, ref long position)
    {
        string written;
        using (var stream = new FileStream(smtpLog, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        {
            stream.Seek(Math.Min(position, stream.Length), SeekOrigin.Begin);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            written = reader.ReadToEnd();
        }

        var whole = written[..(written.LastIndexOf('\n') + 1)];
        position += Encoding.UTF8.GetByteCount(whole);
        return whole.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>
    /// Waits for <paramref name="n"/> acceptances of the tag's recipients written after the mark <paramref name="from"/>,
    /// reading only what is new at each poll (rereading the run's whole log every poll cost this process CPU that the
    /// measured processes share).
    /// </summary>
    private static async Task<List<DateTimeOffset>> WaitAcceptedAsync(string smtpLog, string tag, int n, TimeSpan timeout, long from)
    {
        var deadline = DateTime.UtcNow + timeout;
        var position = from;
        var times = new List<DateTimeOffset>();
        while (true)
        {
            times.AddRange(AcceptedIn(NewLines(smtpLog, ref position), line => line.Contains(tag, StringComparison.Ordinal))
                .Select(AcceptedAt));
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
        var tls = Security != SmtpSecurity.None;
        await using var pool = new MailKitEmailSender(
            Options.Create(new SmtpOptions
            {
                Host = host, Port = port, Security = Security, Username = Username, Password = Password, MaxConnections = 8,
                AllowUntrustedCertificates = tls, // the bench's own self-signed certificate (run.sh --tls)
            }),
            new SmtpHealth(Microsoft.Extensions.Logging.Abstractions.NullLogger<SmtpHealth>.Instance),
            new Microsoft.Extensions.Hosting.Internal.HostingEnvironment { EnvironmentName = tls ? "Development" : "Production" });
        // Warmed up as each worker process is (WarmUp.Round): the loop's own code and connections, JIT-compiled and tiered.
        await WarmUp.RunAsync("raw loop", WarmUp.Round, [Environment.ProcessId], () => Process.GetCurrentProcess().TotalProcessorTime, async round =>
        {
            var warmTag = Tagged($"rawwarm{round}");
            var mark = LogMark(smtpLog);
            await SendAllAsync(pool, Enumerable.Range(0, WarmUp.Round).Select(_ => Sample($"{warmTag}-{Guid.NewGuid():N}@{WarmDomain}")).ToList());
            await WaitAcceptedAsync(smtpLog, warmTag, WarmUp.Round, TimeSpan.FromMinutes(1), mark);
        });
        var runs = new List<Stats>();
        for (var run = 0; run < RawRuns; run++)
        {
            var tag = Tagged($"rawbench{run}");
            var messages = Enumerable.Range(0, n).Select(_ => Sample($"{tag}-{Guid.NewGuid():N}@{Domain}")).ToList();
            var rawMark = LogMark(smtpLog);
            var machineBefore = MachineCpu();
            var due = DateTimeOffset.UtcNow;
            await SendAllAsync(pool, messages);
            runs.Add(Compute(due, await WaitAcceptedAsync(smtpLog, tag, n, TimeSpan.FromSeconds(30), rawMark)) with { MachineBusy = BusyBetween(machineBefore, MachineCpu()) });
        }

        var stats = Repeated.Median(runs, r => r.PerSecond) with { RunRates = [.. runs.Select(r => r.PerSecond)] };
        Console.Error.WriteLine($"raw loop: {stats}");
        return stats;
    }

    /// <summary>How many times the raw loop sends its N emails; the run with the median rate is the limit.</summary>
    private const int RawRuns = 3;

    /// <summary>Sends every message through the pool with 8 concurrent loops (the pool's 8 connections).</summary>
    private static Task SendAllAsync(MailKitEmailSender pool, List<EmailMessage> messages)
    {
        var next = -1;
        return Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < messages.Count)
            {
                var result = await pool.SendAsync(messages[i], CancellationToken.None);
                if (!result.IsAccepted)
                    throw new InvalidOperationException($"SMTP {result}");
            }
        }));
    }

    /// <summary>
    /// N emails sent by the worker processes from a fresh database: all due at one instant, or with
    /// <paramref name="steadyRate"/> falling due one after another at that many per second.
    /// </summary>
    private static async Task<Stats> PipelineAsync(int n, int workers, string pgServer, string workerDll, string smtpHost, int smtpPort, string smtpLog, double? steadyRate = null)
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
            var tag = Tagged(steadyRate is null ? $"bench{workers}w" : "steady");
            var tenantId = await ArrangeAsync(options.Options, tag, n);

            var prefix = "bench" + Guid.NewGuid().ToString("N")[..8];
            // One key for every worker process, as in production (the README: the same Webhooks__SecretKey everywhere). With a
            // key each, every process found the audit signing key another had made unopenable and made its own: a new key at
            // almost every checkpoint of the two-worker runs (6 to 27 per run, 2026-12-04).
            var secretKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
            for (var w = 0; w < workers; w++)
                processes.Add(await BenchWorker.StartAsync(workerDll, conn, prefix, SmtpSettings(new Dictionary<string, string>
                {
                    ["Smtp__Host"] = smtpHost,
                    ["Smtp__Port"] = smtpPort.ToString(CultureInfo.InvariantCulture),
                    ["Smtp__Security"] = Security.ToString(),
                    ["Webhooks__SecretKey"] = secretKey,
                })));

            // Warm-up (JIT and its tiering, EF query compilation, connection pools), then the measured batch: see WarmUp.Round.
            // Each round's rows are written while the round before goes out (arranging them took longer than sending them).
            Task<(Guid Tenant, string Tag)> ArrangeWarmAsync(int round) => Task.Run(async () =>
            {
                var warmTag = Tagged($"warm{round}");
                return (await ArrangeAsync(options.Options, warmTag, WarmUp.Round * workers, WarmDomain), warmTag);
            });
            var nextRound = ArrangeWarmAsync(0);
            await WarmUp.RunAsync(steadyRate is null ? $"{workers} worker(s)" : "steady", WarmUp.Round * workers, processes.Select(p => p.Id), () => BenchWorker.Cpu(processes), async round =>
            {
                var (warmTenantId, warmTag) = await nextRound;
                if (round + 1 < WarmUp.MaxRounds)
                    nextRound = ArrangeWarmAsync(round + 1); // unused if this round ends the warm-up: its rows are due an hour ahead
                var mark = LogMark(smtpLog);
                await MakeDueAsync(options.Options, warmTenantId, DateTimeOffset.UtcNow);
                await WaitAcceptedAsync(smtpLog, warmTag, WarmUp.Round * workers, TimeSpan.FromMinutes(2), mark);
            });
            await nextRound; // the rows of a round the warm-up did not need: written before anything is measured
            await Task.Delay(2000);
            await PgWrites.AnalyzeAsync(conn);
            await PgWrites.SettleAsync(conn);
            var writesBefore = await PgWrites.ReadAsync(conn);
            var batchMark = LogMark(smtpLog);
            await using var tiering = new TieringCpu(processes.Select(p => p.Id));
            var cpuBefore = BenchWorker.Cpu(processes);
            var pgBefore = await PgCpu.SessionsAsync(conn);
            var machineBefore = MachineCpu();
            var due = DateTimeOffset.UtcNow;
            Stats stats;
            if (steadyRate is { } rate)
            {
                var step = TimeSpan.FromSeconds(1 / rate);
                await MakeDueAsync(options.Options, tenantId, due, step);
                await WaitAcceptedAsync(smtpLog, tag, n, TimeSpan.FromMinutes(5), batchMark);
                stats = ComputeSteady(due, step, tag, AcceptedBy(smtpLog, tag));
            }
            else
            {
                await MakeDueAsync(options.Options, tenantId, due);
                stats = Compute(due, await WaitAcceptedAsync(smtpLog, tag, n, TimeSpan.FromMinutes(5), batchMark));
            }

            // The workers' own CPU per email (all their threads: consumers, relay, leases, sealer), from the due time to the
            // last acceptance: it moves much less than emails/s with what else the machine runs.
            var workerCpu = BenchWorker.Cpu(processes) - cpuBefore;
            var cpuPerEmail = workerCpu / n;
            var tieringShare = workerCpu > TimeSpan.Zero ? tiering.Used / workerCpu : 0;
            var pgPerEmail = (await PgCpu.SessionsAsync(conn) - pgBefore) / n;
            var machineBusy = BusyBetween(machineBefore, MachineCpu());
            await using (var db = FeedbackHubDbContext.Create(options.Options, new SystemTenantScope()))
            {
                var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
                while (await db.Deliveries.CountAsync(d => d.TenantId == tenantId && d.Status == OutboundStatus.Sent) < n && DateTime.UtcNow < deadline)
                    await Task.Delay(100);
                var sent = await db.Deliveries.CountAsync(d => d.TenantId == tenantId && d.Status == OutboundStatus.Sent);
                if (sent != n || Accepted(smtpLog, tag).Count != n)
                    throw new InvalidOperationException($"{sent} of {n} marked Sent, {Accepted(smtpLog, tag).Count} accepted: not exactly once.");
            }

            // The writes the batch cost, its audit events' sealing included.
            await PgWrites.SettleAsync(conn);
            var writes = await PgWrites.BetweenAsync(conn, writesBefore, await PgWrites.ReadAsync(conn), n);
            Console.Error.WriteLine($"{workers} worker(s): {stats}");
            return stats with { WorkerCpuPerEmail = cpuPerEmail, PostgresCpuPerEmail = pgPerEmail, MachineBusy = machineBusy, Writes = writes, TieringShare = tieringShare };
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

    /// <summary>
    /// Makes the tenant's emails due at <paramref name="due"/>, or with <paramref name="step"/> email i (see
    /// <see cref="ArrangeAsync"/>) at <paramref name="due"/> + i x step. The outbox rows (wake-ups) are all due at once.
    /// </summary>
    private static async Task MakeDueAsync(DbContextOptions<FeedbackHubDbContext> options, Guid tenantId, DateTimeOffset due, TimeSpan? step = null)
    {
        await using var db = FeedbackHubDbContext.Create(options, new SystemTenantScope());
        await using var tx = await db.Database.BeginTransactionAsync();
        var stepMicroseconds = (step ?? TimeSpan.Zero).TotalMicroseconds;
        await db.Database.ExecuteSqlAsync($"""
            UPDATE outbound o SET due_at = {due} + substring(a.external_id FROM 5)::int * {stepMicroseconds} * interval '1 microsecond'
            FROM deliveries d JOIN applications a ON a.id = d.application_id
            WHERE d.id = o.id AND o.tenant_id = {tenantId}
            """);
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

    /// <summary>
    /// A tenant and N rejected applications with approved feedback and a request, scheduled an hour ahead. Application i's
    /// external id is <c>ext-</c> and i in six digits, and its candidate's address starts with the tag, a dash and the same
    /// digits (<see cref="MakeDueAsync"/>, <see cref="ComputeSteady"/>).
    /// </summary>
    private static async Task<Guid> ArrangeAsync(DbContextOptions<FeedbackHubDbContext> options, string tag, int n, string domain = Domain)
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
            var index = i.ToString(new string('0', IndexDigits), CultureInfo.InvariantCulture);
            var external = "ext-" + index;
            var candidate = Candidate.Create(tenant.Id, new CandidateDetails(external, "Ada", "Lovelace", $"{tag}-{index}-{Guid.NewGuid():N}@{domain}", null), now);
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
