using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using FeedbackHub.Tests;

namespace FeedbackHub.Worker.Tests.Delivery;

/// <summary>The built worker (src/Worker/bin/CONFIG/net10.0/FeedbackHub.Worker.dll) as a real OS process.</summary>
public sealed class WorkerProcess : IAsyncDisposable
{
    private readonly Process _process;

    private readonly ConcurrentQueue<string> _lines = new();

    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private WorkerProcess(Process process) => _process = process;

    public IReadOnlyCollection<string> Lines => _lines;

    public int Count(string text) => _lines.Count(l => l.Contains(text, StringComparison.Ordinal));

    public static string WorkerDll
    {
        get
        {
            // tests/Worker.Tests/bin/CONFIG/net10.0/ -> the repository root and the same configuration.
            var testBin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var config = testBin.Parent!.Name;
            var root = testBin;
            while (root is not null && !File.Exists(Path.Combine(root.FullName, "FeedbackHub.sln")))
                root = root.Parent;
            var dll = Path.Combine(root?.FullName ?? throw new InvalidOperationException("Repository root not found."),
                "src", "Worker", "bin", config, "net10.0", "FeedbackHub.Worker.dll");
            return File.Exists(dll) ? dll : throw new FileNotFoundException("Build the worker first.", dll);
        }
    }

    /// <summary>Starts a worker and waits until its host (bus, consumers, relay) has started.</summary>
    public static async Task<WorkerProcess> StartAsync(string postgres, string prefix, int prefetch)
    {
        var psi = new ProcessStartInfo("dotnet", [WorkerDll])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var env = new Dictionary<string, string>
        {
            ["ConnectionStrings__Postgres"] = postgres,
            ["ConnectionStrings__RabbitMq"] = TestServices.RabbitMq,
            ["Smtp__Host"] = TestServices.SmtpHost,
            ["Smtp__Port"] = TestServices.SmtpPort.ToString(CultureInfo.InvariantCulture),
            ["Smtp__Security"] = "None",
            ["Webhooks__SecretKey"] = TestServices.WebhookSecretKey,
            ["RabbitMq__Prefix"] = prefix,
            ["RabbitMq__PrefetchCount"] = prefetch.ToString(CultureInfo.InvariantCulture),
            ["Delivery__BatchSize"] = prefetch.ToString(CultureInfo.InvariantCulture), // the most emails one worker holds claimed
            ["Outbox__PollInterval"] = "00:00:00.050",
            ["Delivery__FirstBackoff"] = "00:00:01",
            ["Delivery__SendingLease"] = "00:00:05",
            ["Delivery__RecoveryInterval"] = "00:00:01",
            ["Urls"] = "http://127.0.0.1:0",
            ["Logging__Console__FormatterName"] = "simple",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
            ["Logging__LogLevel__FeedbackHub.Worker.Outbound"] = "Information",
        };
        foreach (var (key, value) in env)
            psi.Environment[key] = value;
        psi.Environment.Remove("ASPNETCORE_ENVIRONMENT");
        psi.Environment.Remove("DOTNET_ENVIRONMENT");

        var process = new Process { StartInfo = psi };
        var worker = new WorkerProcess(process);
        process.OutputDataReceived += (_, e) => worker.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => worker.OnLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var exited = process.WaitForExitAsync();
        if (await Task.WhenAny(worker._started.Task, exited, Task.Delay(TimeSpan.FromSeconds(60))) != worker._started.Task)
        {
            await worker.DisposeAsync();
            throw new InvalidOperationException("The worker process did not start:\n" + string.Join("\n", worker._lines.TakeLast(30)));
        }

        return worker;
    }

    private void OnLine(string? line)
    {
        if (line is null)
            return;
        _lines.Enqueue(line);
        if (line.Contains("Application started", StringComparison.Ordinal))
            _started.TrySetResult();
    }

    /// <summary>SIGKILL: no shutdown, no acknowledgement, no commit.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }
}
