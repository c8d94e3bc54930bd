using System.Diagnostics;

namespace FeedbackHub.Bench;

/// <summary>Starts a real worker process for a benchmark (compiled into each bench program).</summary>
internal static class BenchWorker
{
    /// <summary>
    /// Runs <paramref name="workerDll"/> on the given database and broker prefix with a fast outbox poll and quiet logs,
    /// plus <paramref name="settings"/> (environment names, e.g. <c>Smtp__Port</c>); returns once it says it started.
    /// </summary>
    public static async Task<Process> StartAsync(string workerDll, string postgres, string prefix, IReadOnlyDictionary<string, string> settings)
    {
        var psi = new ProcessStartInfo("dotnet", [workerDll]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.Environment["ConnectionStrings__Postgres"] = postgres;
        psi.Environment["ConnectionStrings__RabbitMq"] = Environment.GetEnvironmentVariable("FEEDBACKHUB_RABBITMQ");
        psi.Environment["RabbitMq__Prefix"] = prefix;
        psi.Environment["Outbox__PollInterval"] = "00:00:00.050";
        psi.Environment["Urls"] = "http://127.0.0.1:0";
        psi.Environment["Logging__Console__FormatterName"] = "simple";
        psi.Environment["Logging__LogLevel__Default"] = "Warning";
        psi.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        foreach (var (name, value) in settings)
            psi.Environment[name] = value;
        var process = new Process { StartInfo = psi };
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data?.Contains("Application started", StringComparison.Ordinal) == true)
                started.TrySetResult();
        };
        process.ErrorDataReceived += (_, _) => { };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (await Task.WhenAny(started.Task, Task.Delay(TimeSpan.FromSeconds(90))) != started.Task)
            throw new InvalidOperationException("The worker did not start.");
        return process;
    }
}
