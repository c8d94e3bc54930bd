using System.Diagnostics;
using System.Globalization;

namespace FeedbackHub.Bench.Chaos;

/// <summary>
/// The stack under test: the chaos profile's services (scripts/services.sh), one API process and the worker processes,
/// all on loopback, each process logging to its own file under the profile's logs/.
/// </summary>
internal sealed class Stack(StackOptions options) : IAsyncDisposable
{
    private readonly List<Process> _workers = [];
    private Process? _api;
    private int _started;

    public string ApiBase => $"http://127.0.0.1:{options.ApiPort}";

    public int Workers => _workers.Count;

    public async Task StartApiAsync()
    {
        (_api, _) = Start("api", options.ApiDll, ["--urls", ApiBase], new Dictionary<string, string>
        {
            ["FeedbackHub__PublicBaseUrl"] = ApiBase,
            // Every candidate of the run asks from 127.0.0.1: the per-address limit would refuse most of them.
            ["FeedbackHub__CandidateRateLimit__PerAddressPerMinute"] = "1000000",
        });
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            if (_api.HasExited)
                throw new InvalidOperationException($"The API exited at start; see {options.LogDirectory}.");
            try
            {
                if ((await http.GetAsync(new Uri(ApiBase + "/health/ready"))).IsSuccessStatusCode)
                    return;
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }

            await Task.Delay(250);
        }

        throw new TimeoutException("The API was not ready within 90 s.");
    }

    /// <summary>Starts or stops (gracefully) worker processes until <paramref name="count"/> run.</summary>
    public async Task EnsureWorkersAsync(int count)
    {
        while (_workers.Count > count)
        {
            var last = _workers[^1];
            _workers.RemoveAt(_workers.Count - 1);
            await StopAsync(last);
        }

        while (_workers.Count < count)
            _workers.Add(await StartWorkerAsync());
    }

    /// <summary>SIGKILL: no shutdown, no acknowledgement, no commit. Returns once the process is gone.</summary>
    public async Task KillWorkerAsync(int index, bool replace)
    {
        var worker = _workers[index];
        worker.Kill();
        await worker.WaitForExitAsync();
        worker.Dispose();
        _workers.RemoveAt(index);
        if (replace)
        {
            await Task.Delay(1000); // what a supervisor (scripts/run.sh, Kubernetes) takes to notice and start a new one
            _workers.Insert(index, await StartWorkerAsync());
        }
    }

    public async Task ServicesAsync(string command)
    {
        var psi = new ProcessStartInfo(options.ServicesScript, ["--profile", options.Profile, command])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("services.sh did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        await File.AppendAllTextAsync(Path.Combine(options.LogDirectory, "services.log"), await stdout + await stderr);
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"services.sh {command} failed ({process.ExitCode}): {await stderr}");
    }

    private async Task<Process> StartWorkerAsync()
    {
        var (process, log) = Start("worker", options.WorkerDll, [], new Dictionary<string, string>
        {
            ["Smtp__Host"] = options.SmtpHost,
            ["Smtp__Port"] = options.SmtpPort,
            ["Smtp__Security"] = "None",
            ["RabbitMq__Prefix"] = options.BrokerPrefix,
            ["Urls"] = "http://127.0.0.1:0",
        });
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
                throw new InvalidOperationException($"A worker exited at start; see {log}.");
            if (File.Exists(log) && (await File.ReadAllTextAsync(log)).Contains("Application started", StringComparison.Ordinal))
                return process;
            await Task.Delay(200);
        }

        throw new TimeoutException($"A worker did not start within 90 s; see {log}.");
    }

    /// <summary>Runs <c>dotnet DLL ARGS</c> with the stack's configuration, its output in its own log file (returned).</summary>
    private (Process Process, string Log) Start(string name, string dll, string[] args, Dictionary<string, string> settings)
    {
        var log = Path.Combine(options.LogDirectory, $"{name}-{Interlocked.Increment(ref _started).ToString(CultureInfo.InvariantCulture)}.log");
        var command = "exec dotnet " + string.Join(' ', new[] { dll }.Concat(args).Select(Quote)) + " >>" + Quote(log) + " 2>&1";
        var psi = new ProcessStartInfo("bash", ["-c", command]) { UseShellExecute = false };
        psi.Environment["ConnectionStrings__Postgres"] = options.Postgres;
        psi.Environment["ConnectionStrings__RabbitMq"] = options.RabbitMq;
        psi.Environment["Webhooks__SecretKey"] = options.WebhookKey;
        psi.Environment.Remove("ASPNETCORE_ENVIRONMENT");
        psi.Environment.Remove("DOTNET_ENVIRONMENT");
        foreach (var (key, value) in settings)
            psi.Environment[key] = value;
        return (Process.Start(psi) ?? throw new InvalidOperationException($"{name} did not start."), log);
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static async Task StopAsync(Process process)
    {
        if (!process.HasExited)
        {
            using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]))
                await term!.WaitForExitAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(40));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill();
                await process.WaitForExitAsync();
            }
        }

        process.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var worker in _workers)
            await StopAsync(worker);
        _workers.Clear();
        if (_api is not null)
            await StopAsync(_api);
    }
}

internal sealed record StackOptions(
    string ApiDll, string WorkerDll, int ApiPort, string Postgres, string RabbitMq, string SmtpHost, string SmtpPort,
    string WebhookKey, string BrokerPrefix, string ServicesScript, string Profile, string LogDirectory);
