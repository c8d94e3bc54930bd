using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using FeedbackHub.Tests;

namespace FeedbackHub.Api.Tests.Fuzz;

/// <summary>
/// How big and which run: <c>FEEDBACKHUB_FUZZ_SEED</c> (a number, or <c>random</c>: one is picked and printed) and
/// <c>FEEDBACKHUB_FUZZ_BUDGET</c> (number of generated requests); <c>FEEDBACKHUB_FUZZ_LOG</c> (a file: every request
/// and answer, one per line, to see exactly what an example in the report sent).
/// </summary>
public sealed record FuzzSettings(int Seed, bool RandomSeed, int Budget, TimeSpan TimeBound, TimeSpan RequestTimeout, string? LogPath)
{
    public const int DefaultSeed = 20261201;

    // About 2 minutes of requests on a 2-core machine (300 to 400 requests/s measured here), plus seeding and raw cases.
    public const int DefaultBudget = 40_000;

    public static FuzzSettings FromEnvironment()
    {
        var seedText = Environment.GetEnvironmentVariable("FEEDBACKHUB_FUZZ_SEED");
        var random = string.Equals(seedText, "random", StringComparison.OrdinalIgnoreCase);
        var seed = random ? Random.Shared.Next() : int.TryParse(seedText, CultureInfo.InvariantCulture, out var s) ? s : DefaultSeed;
        var budget = int.TryParse(Environment.GetEnvironmentVariable("FEEDBACKHUB_FUZZ_BUDGET"), CultureInfo.InvariantCulture, out var b) && b > 0 ? b : DefaultBudget;
        // The whole storm stops after this, whatever the budget says (a slow machine reports fewer requests, never hangs).
        var bound = TimeSpan.FromSeconds(Math.Max(180, budget / 200.0));
        var log = Environment.GetEnvironmentVariable("FEEDBACKHUB_FUZZ_LOG") is { Length: > 0 } path ? path : null;
        return new FuzzSettings(seed, random, budget, bound, TimeSpan.FromSeconds(20), log);
    }

    public override string ToString() =>
        $"seed {Seed}{(RandomSeed ? " (random)" : "")}, budget {Budget} requests, bound {TimeBound.TotalMinutes:0.#} min; " +
        $"reproduce with FEEDBACKHUB_FUZZ_SEED={Seed} FEEDBACKHUB_FUZZ_BUDGET={Budget}";
}

public sealed record StormResult(FuzzSettings Settings, int Requests, TimeSpan Elapsed, bool StoppedByTime, ViolationReport Report, string Coverage);

/// <summary>
/// The real Api host on real Kestrel (loopback, a free port) over its own database, two seeded tenants: "storm" takes
/// every request, "kept" is only read or sent bodies the document calls invalid, and must read back unchanged.
/// </summary>
public sealed class FuzzHost : IAsyncLifetime
{
    private readonly List<string> _keptWrites = [];
    private Task<StormResult>? _storm;
    private Task<RawResult>? _raw;

    public ApiFactory Api { get; } = new();

    public FuzzSettings Settings { get; } = FuzzSettings.FromEnvironment();

    public Uri BaseAddress { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public OpenApiSpec Spec { get; private set; } = null!;

    public FuzzWorld Storm { get; private set; } = null!;

    public FuzzWorld Kept { get; private set; } = null!;

    /// <summary>What the kept tenant's resources read like before anything was fuzzed.</summary>
    public IReadOnlyDictionary<string, string> KeptBefore { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Api.InitializeAsync();
        Api.Settings["FeedbackHub:AllowPrivateWebhookTargets"] = "true"; // the fuzz's webhook targets are 127.0.0.1:9
        Api.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        Api.StartServer();
        var address = Api.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        BaseAddress = new Uri(address);
        if (!IPAddress.IsLoopback(IPAddress.Parse(BaseAddress.Host)))
            throw new InvalidOperationException("The fuzz host must listen on loopback only: " + address);
        Http = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, ConnectTimeout = TimeSpan.FromSeconds(5) })
        {
            BaseAddress = BaseAddress,
            Timeout = TimeSpan.FromSeconds(60),
        };
        Spec = OpenApiSpec.Parse(await Http.GetStringAsync("/openapi/v1.json"));
        Storm = await FuzzWorld.SeedAsync(Api, Http, "storm");
        Kept = await FuzzWorld.SeedAsync(Api, Http, "kept");
        Storm.Other = Kept;
        Kept.Other = Storm;
        KeptBefore = await SnapshotAsync(Kept);
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        Http?.Dispose();
        await ((IAsyncLifetime)Api).DisposeAsync();
    }

    /// <summary>The generated storm runs once per class; tests that need it afterwards await the same run.</summary>
    public Task<StormResult> StormAsync() => _storm ??= RunStormAsync();

    public Task<RawResult> RawAsync() => _raw ??= RawProtocolCases.RunAsync(this);

    private async Task<StormResult> RunStormAsync()
    {
        var generator = new RequestGenerator(Spec, new Random(Settings.Seed));
        var oracle = new FuzzOracle(Spec);
        var report = new ViolationReport();
        var seen = new SortedDictionary<string, SortedDictionary<int, int>>(StringComparer.Ordinal);
        var clock = Stopwatch.StartNew();
        var sent = 0;
        var stoppedByTime = false;
        await using var log = Settings.LogPath is null ? null : new StreamWriter(Settings.LogPath);
        foreach (var request in generator.ValidRound(Storm).Concat(Endless(() => generator.Mutated(Storm, Kept))).Take(Settings.Budget))
        {
            if (clock.Elapsed > Settings.TimeBound)
            {
                stoppedByTime = true;
                break;
            }

            var answer = await SendAsync(request);
            sent++;
            var operation = request.Operation.ToString();
            var counts = seen.TryGetValue(operation, out var c) ? c : seen[operation] = [];
            counts[answer.Status] = counts.GetValueOrDefault(answer.Status) + 1;
            var role = request.World == Kept ? request.Role + " (kept tenant)" : request.Role;
            if (log is not null)
                await log.WriteLineAsync($"{sent}\t{role}\t{request.Operation.Method} {Clip(request.Url)}\t{request.Mutation}\t{Clip(request.Body ?? "")}\t{answer.Status}\t{Clip(answer.Body)}");
            if (answer.Status == 0)
            {
                report.Add(new Violation(operation, role, request.Mutation, 0, "no answer", answer.Body));
                continue;
            }

            foreach (var (kind, detail) in oracle.Check(request.Operation, request.Operation.Method, answer))
                report.Add(new Violation(operation, role, request.Mutation, answer.Status, kind, detail));
            if (answer.Status is >= 200 and < 300 && request.BodyError is { } bodyError)
                report.Add(new Violation(operation, role, request.Mutation, answer.Status, FuzzOracle.AcceptedInvalid, bodyError));
            if (request.World == Kept && request.Operation.Writes && answer.Status is >= 200 and < 300)
                _keptWrites.Add(request.Url.Split('?')[0]);
        }

        var coverage = string.Join(Environment.NewLine, seen.Select(s =>
            $"  {s.Key}: {string.Join(" ", s.Value.Select(v => $"{v.Key}x{v.Value}"))}"));
        return new StormResult(Settings, sent, clock.Elapsed, stoppedByTime, report, coverage);
    }

    private static string Clip(string text) => (text.Length <= 300 ? text : text[..300] + "...").ReplaceLineEndings(" ").Replace('\t', ' ');

    private static IEnumerable<FuzzRequest> Endless(Func<FuzzRequest> next)
    {
        while (true)
            yield return next();
    }

    /// <summary>Sends one generated request with a timeout; a request that gets no answer is reported as status 0.</summary>
    public async Task<FuzzAnswer> SendAsync(FuzzRequest request)
    {
        using var timeout = new CancellationTokenSource(Settings.RequestTimeout);
        try
        {
            using var message = new HttpRequestMessage(new HttpMethod(request.Operation.Method), request.Url);
            var key = request.World.KeyFor(request.Role);
            if (key is not null)
                message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            foreach (var (name, value) in request.Headers)
                message.Headers.TryAddWithoutValidation(name, value);
            if (request.Operation.Path.StartsWith("/v1/feedback/{id}/", StringComparison.Ordinal) && request.Operation.Writes
                && !request.Headers.Any(h => h.Name == "If-Match") && key is not null)
            {
                // As a real client would: send the ETag just read, so valid writes are not all refused as stale.
                using var read = new HttpRequestMessage(HttpMethod.Get, request.Url.Split('/')[..4].Aggregate((a, b) => a + "/" + b));
                read.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
                using var current = await Http.SendAsync(read, timeout.Token);
                if (current.Headers.ETag is { } etag)
                    message.Headers.TryAddWithoutValidation("If-Match", etag.ToString());
            }

            if (request.Body is not null)
            {
                message.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(request.Body));
                message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            }

            using var response = await Http.SendAsync(message, timeout.Token);
            var body = await response.Content.ReadAsStringAsync(timeout.Token);
            return new FuzzAnswer((int)response.StatusCode, response.Content.Headers.ContentType?.ToString(), body);
        }
        catch (OperationCanceledException)
        {
            return new FuzzAnswer(0, null, $"no answer within {Settings.RequestTimeout.TotalSeconds:0} s");
        }
        catch (HttpRequestException e)
        {
            return new FuzzAnswer(0, null, "connection failed: " + e.Message);
        }
    }

    /// <summary>
    /// The snapshot URLs a write of the kept tenant's own keys changed on purpose (it was accepted, and the storm reports
    /// the accepted invalid body): they hold a resource id from the write's URL, or are the collection it wrote to.
    /// </summary>
    public IReadOnlyList<(string Url, string Write)> KeptChangedOnPurpose()
    {
        var touched = new List<(string, string)>();
        var external = Kept.Ids["applications-ext"];
        foreach (var write in _keptWrites.Distinct())
        {
            var segments = write.Split('/').Select(Uri.UnescapeDataString)
                .Select(s => external.IndexOf(s) is var i and >= 0 ? Kept.Ids["applications"][i] : s).ToList();
            foreach (var url in KeptBefore.Keys)
            {
                var own = url.Split('/');
                if (url == write || (own.Length > 3 && segments.Contains(own[^1])))
                    touched.Add((url, write));
            }
        }

        return touched;
    }

    /// <summary>The kept tenant's resources as the admin reads them (status and body per URL).</summary>
    public async Task<IReadOnlyDictionary<string, string>> SnapshotAsync(FuzzWorld world)
    {
        var urls = new List<string> { "/v1/settings", "/v1/language/tenant-rules" };
        urls.AddRange(world.Ids["applications"].Select(id => $"/v1/applications/{id}"));
        urls.AddRange(world.Ids["templates"].Select(id => $"/v1/templates/{id}"));
        urls.AddRange(world.Ids["feedback"].Select(id => $"/v1/feedback/{id}"));
        urls.AddRange(world.Ids["webhooks"].Select(id => $"/v1/webhooks/{id}"));
        urls.AddRange(world.Ids["api-keys"].Select(id => $"/v1/api-keys/{id}"));
        var snapshot = new Dictionary<string, string>();
        foreach (var url in urls)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", world.KeyFor("admin"));
            using var response = await Http.SendAsync(request);
            snapshot[url] = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
        }

        return snapshot;
    }
}
