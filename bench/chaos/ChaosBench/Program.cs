using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using FeedbackHub.Api.Commands;
using FeedbackHub.Api.Features.Templates;
using Npgsql;

namespace FeedbackHub.Bench.Chaos;

/// <summary>
/// Puts N feedback emails per fault through the real API, injects the fault while they are being sent, waits until every
/// delivery is terminal and counts what the SMTP server received per address. See bench/chaos/README.md.
/// </summary>
internal static class Program
{
    /// <summary>The worker's RabbitMq:PrefetchCount default: at most this many sends are in flight in one process.</summary>
    private const int InFlightPerWorker = 32;

    /// <summary>The sink stores each email at once and answers 250 this much later (<see cref="Rules"/>), so faults land between the two.</summary>
    public static readonly TimeSpan AnswerDelay = TimeSpan.FromSeconds(2);

    /// <summary>How long a fault may take to heal before its unfinished deliveries count as stuck.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(4);

    private static readonly Fault[] Faults =
    [
        new("worker-kill", "worker kill -9 mid-batch (a new one 1 s later)", 1, InFlightPerWorker, false, async (s, _) => { var at = Now; await s.KillWorkerAsync(0, replace: true); return at; }),
        // The one that ran before (the other is new and may not have taken its share yet) is killed; the other carries on alone.
        new("two-workers-one-killed", "two workers, one kill -9 (not replaced)", 2, InFlightPerWorker, false, async (s, _) => { var at = Now; await s.KillWorkerAsync(0, replace: false); return at; }),
        new("rabbitmq-restart", "RabbitMQ stop + start", 1, 0, false, async (s, _) => { await s.ServicesAsync("stop-rabbit"); await s.ServicesAsync("start-rabbit"); return Now; }),
        new("postgres-restart", "PostgreSQL fast restart", 1, 0, true, async (s, _) => { await s.ServicesAsync("restart-pg"); return Now; }),
        new("postgres-down-30s", "PostgreSQL down for 30 s", 1, 0, true, async (s, _) => { await s.ServicesAsync("stop-pg"); await Task.Delay(30_000); await s.ServicesAsync("start-pg"); return Now; }),
        // The server dies with emails it has stored but not yet answered: those are resent and flagged, never silent.
        new("smtp-down-30s", "SMTP server down for 30 s", 1, int.MaxValue, false, async (s, _) => { await s.ServicesAsync("stop-smtp"); await Task.Delay(30_000); await s.ServicesAsync("start-smtp"); return Now; }),
        new("smtp-421", "SMTP answers 421 for 10 s, then recovers", 1, 0, false, async (_, tag) => { Rules.Write(tag, refuse421: true); await Task.Delay(10_000); Rules.Write(tag); return Now; }),
    ];

    private static DateTimeOffset Now => DateTimeOffset.UtcNow;

    public static async Task<int> Main(string[] args)
    {
        string Arg(string name, string? fallback = null) =>
            args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() ?? fallback ?? throw new InvalidOperationException($"{name} is required.");
        string Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : throw new InvalidOperationException($"{name} is not set.");
        var n = int.Parse(Arg("--n", "150"), CultureInfo.InvariantCulture);
        if (n is < 1 or > 1000)
            throw new InvalidOperationException("--n is 1 to 1000.");
        var only = Arg("--only", "").Split(',', StringSplitOptions.RemoveEmptyEntries);
        var runId = DateTime.UtcNow.ToString("MMddHHmmss", CultureInfo.InvariantCulture);
        var logs = Arg("--logs");
        Directory.CreateDirectory(logs);
        Rules.Path = System.IO.Path.Combine(Env("FEEDBACKHUB_SMTP_DIR"), "smtp-rules.json");
        var smtpLog = new SmtpLog(System.IO.Path.Combine(Env("FEEDBACKHUB_SMTP_DIR"), "smtp-log.jsonl"));

        var dbName = "fh_chaos_" + runId;
        var server = Env("FEEDBACKHUB_PG");
        var postgres = new NpgsqlConnectionStringBuilder(server) { Database = dbName }.ConnectionString;
        await AdminAsync(server, $"CREATE DATABASE \"{dbName}\"");
        var options = new StackOptions(Arg("--api-dll"), Arg("--worker-dll"), int.Parse(Arg("--api-port", "5090"), CultureInfo.InvariantCulture),
            postgres, Env("FEEDBACKHUB_RABBITMQ"), Env("FEEDBACKHUB_SMTP_HOST"), Env("FEEDBACKHUB_SMTP_PORT"),
            Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)), "chaos" + runId,
            Arg("--services"), Arg("--profile", "chaos"), logs);
        var results = new List<Result>();
        try
        {
            await ApiCommandAsync(options, "migrate");
            await using var stack = new Stack(options);
            await stack.StartApiAsync();
            using var api = new Api(stack.ApiBase);
            foreach (var fault in Faults.Where(f => only.Length == 0 || only.Contains(f.Name)))
            {
                Console.Error.WriteLine($"[chaos] {fault.Name}: arranging {n} emails through the API");
                var result = await RunAsync(fault, stack, api, smtpLog, options, $"c{runId}-{fault.Name}-", n);
                Console.Error.WriteLine($"[chaos] {fault.Name}: {result}");
                results.Add(result);
            }
        }
        finally
        {
            Rules.Clear();
            NpgsqlConnection.ClearAllPools();
            await AdminAsync(server, $"DROP DATABASE IF EXISTS \"{dbName}\" WITH (FORCE)");
        }

        Console.WriteLine();
        Console.WriteLine($"N = {n} feedback emails per fault; recovered = from the end of the fault (or the kill) until every delivery was terminal.");
        Console.WriteLine();
        Console.WriteLine("| fault | expected | received | missing | duplicates flagged | duplicates unflagged | stuck | recovered | API 5xx (not 503) | API 503 + Retry-After | verdict |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var r in results)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Fault.Description} | {r.Expected} | {r.Received} | {r.Missing} | {r.Flagged} | {r.Unflagged} | {r.Stuck} | {(r.RecoveredIn is { } t ? $"{t.TotalSeconds:F1} s" : "-")} | {r.ApiErrors} | {r.ApiUnavailable} | {(r.Passed ? "pass" : "FAIL: " + r.Why)} |"));
        return results.Count > 0 && results.All(r => r.Passed) ? 0 : 1;
    }

    private static async Task<Result> RunAsync(Fault fault, Stack stack, Api api, SmtpLog smtpLog, StackOptions options, string tag, int n)
    {
        await stack.EnsureWorkersAsync(fault.Workers);
        api.ResetCounts();
        var tenant = await ArrangeAsync(api, options, tag, n);
        Rules.Write(tag);
        var since = smtpLog.Length;

        // Go: every candidate asks; with no cooling-off each request schedules its delivery at once.
        await Parallel.ForEachAsync(tenant.Tokens, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (token, _) =>
        {
            var (status, body) = await api.SendAsync(HttpMethod.Post, $"/v1/public/feedback-requests/{token}", null, new { });
            if ((int)status is < 200 or > 299)
                throw new InvalidOperationException($"The candidate's request answered {(int)status}: {body}");
        });
        using var stopTraffic = new CancellationTokenSource();
        var traffic = TrafficAsync(api, tenant, stopTraffic.Token);

        // Mid-send: a quarter of the emails are with the server, and its first answers are due.
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (smtpLog.Accepted(since, tag).Count < Math.Max(1, n / 4) && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        await Task.Delay(AnswerDelay / 2);
        Console.Error.WriteLine($"[chaos] {fault.Name}: injecting ({smtpLog.Accepted(since, tag).Count} of {n} with the server)");
        var faultEnd = await fault.InjectAsync(stack, tag);

        var (terminalAt, stuck) = await WaitTerminalAsync(options.Postgres, tenant.Id, n, faultEnd + Patience);
        await Task.Delay(3000); // anything sent twice late would show up by now
        await stopTraffic.CancelAsync();
        await traffic;

        var accepted = smtpLog.Accepted(since, tag);
        var flags = await FlagsAsync(options.Postgres, tenant.Id);
        var counts = accepted.GroupBy(a => a, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.Count(), StringComparer.OrdinalIgnoreCase);
        var duplicated = counts.Where(c => c.Value > 1).Select(c => c.Key).ToList();
        var flagged = duplicated.Count(a => flags.TryGetValue(a, out var f) && f);
        return new Result(fault, n, counts.Count, n - counts.Count, flagged, duplicated.Count - flagged, stuck,
            stuck == 0 && terminalAt is { } t ? (t > faultEnd ? t - faultEnd : TimeSpan.Zero) : null, api.Errors, api.Unavailable);
    }

    /// <summary>A tenant with a key per role, no cooling-off, a published template and N rejected applications with approved feedback.</summary>
    private static async Task<Tenant> ArrangeAsync(Api api, StackOptions options, string tag, int n)
    {
        var output = await ApiCommandAsync(options, "bootstrap-tenant", "--name", "Chaos " + tag.TrimEnd('-'));
        var id = Guid.Parse(output.Split('\n').First(l => l.Contains(" created: ", StringComparison.Ordinal)).Split(": ")[1].Trim());
        var admin = output.Split('\n').First(l => l.StartsWith("Admin API key", StringComparison.Ordinal)).Split(": ")[1].Trim();
        var keys = new Dictionary<string, string>();
        foreach (var role in new[] { "integration", "interviewer", "recruiter", "legal" })
            keys[role] = (await api.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, "/v1/api-keys", admin, new { displayName = "Chaos " + role, roles = new[] { role } })).GetProperty("secret").GetString()!;
        await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Patch, "/v1/settings", admin, new { coolingOffMinutes = 0 });
        var (name, content) = ExampleTemplates.Engineering;
        var templateId = (await api.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, "/v1/templates", keys["recruiter"], TemplateRequest.From(name, "en", content)))
            .GetProperty("templateId").GetGuid();
        await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/v1/templates/{templateId}/versions/1/submit", keys["recruiter"]);
        await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/v1/templates/{templateId}/versions/1/publish", keys["legal"]);
        var answers = new { answers = content.Criteria.Select(c => new { criterion = c.Key, band = c.Bands[0].Key }).ToList() };

        var tokens = new string[n];
        await Parallel.ForEachAsync(Enumerable.Range(0, n), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) =>
        {
            var application = (await api.ExpectAsync(HttpStatusCode.Created, HttpMethod.Put, $"/v1/applications/by-external-id/{tag}{i}", keys["integration"], Application(tag, i)))
                .GetProperty("id").GetGuid();
            var feedback = (await api.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, "/v1/feedback", keys["interviewer"], new { applicationId = application, templateId }))
                .GetProperty("id").GetGuid();
            await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Put, $"/v1/feedback/{feedback}/answers", keys["interviewer"], answers);
            await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/v1/feedback/{feedback}/submit", keys["interviewer"], new { });
            await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/v1/feedback/{feedback}/approve", keys["recruiter"]);
            var url = (await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/v1/applications/{application}/rejection", keys["integration"], new { }))
                .GetProperty("requestUrl").GetString()!;
            tokens[i] = url[(url.LastIndexOf('/') + 1)..];
        });
        return new Tenant(id, tag, keys, tokens);
    }

    private static object Application(string tag, int i) =>
        new { candidate = new { externalId = $"{tag}c{i}", firstName = "Ada", email = $"{tag}{i}@example.test" }, positionTitle = "Backend Engineer" };

    /// <summary>What an ATS and a recruiter keep doing during the fault: list deliveries, upsert an application again (idempotent).</summary>
    private static async Task TrafficAsync(Api api, Tenant tenant, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            await api.SendAsync(HttpMethod.Get, "/v1/deliveries?limit=1", tenant.Keys["recruiter"], repeat503: false);
            await api.SendAsync(HttpMethod.Put, $"/v1/applications/by-external-id/{tenant.Tag}0", tenant.Keys["integration"], Application(tenant.Tag, 0), repeat503: false);
            try
            {
                await Task.Delay(250, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Polls until all N deliveries are Sent, Failed or Cancelled; returns when, or how many were not by the deadline.</summary>
    private static async Task<(DateTimeOffset? TerminalAt, int Stuck)> WaitTerminalAsync(string postgres, Guid tenantId, int n, DateTimeOffset deadline)
    {
        var notTerminal = n;
        while (Now < deadline)
        {
            try
            {
                await using var connection = new NpgsqlConnection(postgres);
                await connection.OpenAsync();
                await using var command = new NpgsqlCommand(
                    "SELECT count(*) FILTER (WHERE o.status IN ('Sent', 'Failed', 'Cancelled')) FROM deliveries d JOIN outbound o ON o.id = d.id WHERE o.tenant_id = $1", connection);
                command.Parameters.AddWithValue(tenantId);
                notTerminal = n - (int)(long)(await command.ExecuteScalarAsync())!;
                if (notTerminal == 0)
                    return (Now, 0);
            }
            catch (NpgsqlException)
            {
                // the database is down (that fault): keep waiting
            }

            await Task.Delay(500);
        }

        return (null, notTerminal);
    }

    /// <summary>possibleDuplicate per candidate address.</summary>
    private static async Task<Dictionary<string, bool>> FlagsAsync(string postgres, Guid tenantId)
    {
        await using var connection = new NpgsqlConnection(postgres);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT c.email, o.possible_duplicate FROM deliveries d JOIN outbound o ON o.id = d.id JOIN applications a ON a.id = d.application_id JOIN candidates c ON c.id = a.candidate_id WHERE o.tenant_id = $1",
            connection);
        command.Parameters.AddWithValue(tenantId);
        var flags = new Dictionary<string, bool>(StringComparer.OrdinalIgnoreCase);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            flags[reader.GetString(0)] = reader.GetBoolean(1);
        return flags;
    }

    /// <summary>Runs a host command of the API (<c>migrate</c>, <c>bootstrap-tenant</c>) on the run's database; returns its output.</summary>
    private static async Task<string> ApiCommandAsync(StackOptions options, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet", [options.ApiDll, .. args]) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["ConnectionStrings__Postgres"] = options.Postgres;
        psi.Environment["ConnectionStrings__RabbitMq"] = options.RabbitMq;
        psi.Environment["Webhooks__SecretKey"] = options.WebhookKey;
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("dotnet did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? await stdout : throw new InvalidOperationException($"{args[0]} failed: {await stdout} {await stderr}");
    }

    private static async Task AdminAsync(string server, string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(server) { Database = "postgres", Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private sealed record Tenant(Guid Id, string Tag, Dictionary<string, string> Keys, string[] Tokens);
}

/// <summary>
/// A fault: how many workers run, how many (flagged) duplicates it may cost at most, whether the API may answer 503
/// while it lasts, and what injects it (returning when it ended).
/// </summary>
internal sealed record Fault(string Name, string Description, int Workers, int MaxDuplicates, bool DatabaseDown, Func<Stack, string, Task<DateTimeOffset>> InjectAsync);

internal sealed record Result(
    Fault Fault, int Expected, int Received, int Missing, int Flagged, int Unflagged, int Stuck, TimeSpan? RecoveredIn, int ApiErrors, int ApiUnavailable)
{
    public string Why => string.Join("; ", new[]
    {
        Missing > 0 ? $"{Missing} lost" : null,
        Unflagged > 0 ? $"{Unflagged} unflagged duplicates" : null,
        Flagged > Fault.MaxDuplicates ? $"{Flagged} duplicates, at most {Fault.MaxDuplicates} expected" : null,
        Stuck > 0 ? $"{Stuck} stuck" : null,
        ApiErrors > 0 ? $"{ApiErrors} API 5xx" : null,
        ApiUnavailable > 0 && !Fault.DatabaseDown ? $"{ApiUnavailable} API 503 while the database was up" : null,
    }.OfType<string>());

    public bool Passed => Why.Length == 0;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"received {Received}/{Expected}, duplicates {Flagged} flagged + {Unflagged} unflagged, stuck {Stuck}, recovered {RecoveredIn?.TotalSeconds:F1} s, API 5xx {ApiErrors}, 503 {ApiUnavailable}: {(Passed ? "pass" : Why)}");
}

/// <summary>The sink's rules file (docs/running-locally.md), written atomically.</summary>
internal static class Rules
{
    public static string Path { get; set; } = "";

    /// <summary>
    /// The fault's emails are stored at once and answered <see cref="Program"/>'s answer delay later (so faults land between
    /// the two); with <paramref name="refuse421"/> every new transaction is refused with 421 at RCPT.
    /// </summary>
    public static void Write(string tag, bool refuse421 = false)
    {
        var rules = new List<object> { new { match = tag, stage = "data", answer_delay_ms = (int)Program.AnswerDelay.TotalMilliseconds } };
        if (refuse421)
            rules.Add(new { match = tag, code = 421, message = "4.3.2 Service not available, closing transmission channel" });
        File.WriteAllText(Path + ".tmp", JsonSerializer.Serialize(new { rules }));
        File.Move(Path + ".tmp", Path, overwrite: true);
    }

    public static void Clear() => File.Delete(Path);
}

/// <summary>The sink's smtp-log.jsonl: accepted messages per recipient, read from an offset (the log is shared and long).</summary>
internal sealed class SmtpLog(string path)
{
    public long Length => File.Exists(path) ? new FileInfo(path).Length : 0;

    /// <summary>One entry per accepted message and recipient containing the tag.</summary>
    public List<string> Accepted(long since, string tag)
    {
        var addresses = new List<string>();
        if (!File.Exists(path))
            return addresses;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        stream.Seek(Math.Min(since, stream.Length), SeekOrigin.Begin);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            if (!line.Contains(tag, StringComparison.Ordinal) || !line.Contains("\"accepted\"", StringComparison.Ordinal))
                continue;
            using var entry = JsonDocument.Parse(line);
            addresses.AddRange(entry.RootElement.GetProperty("rcpt_tos").EnumerateArray().Select(r => r.GetString()!).Where(r => r.Contains(tag, StringComparison.Ordinal)));
        }

        return addresses;
    }
}
