using System.Diagnostics;

namespace FeedbackHub.Bench;

/// <summary>Starts a real worker process for a benchmark (compiled into each bench program).</summary>
internal static class BenchWorker
{
    /// <summary>The CPU time the processes have used so far, all their threads.</summary>
    public static TimeSpan Cpu(IEnumerable<Process> processes) =>
        processes.Aggregate(TimeSpan.Zero, (sum, p) =>
        {
            p.Refresh();
            return sum + p.TotalProcessorTime;
        });

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
        // FEEDBACKHUB_BENCH_WORKER_LOG=FILE keeps the worker's output (e.g. with Logging__LogLevel__FeedbackHub=Debug set too).
        var log = Environment.GetEnvironmentVariable("FEEDBACKHUB_BENCH_WORKER_LOG") is { Length: > 0 } path
            ? TextWriter.Synchronized(new StreamWriter(path, append: true) { AutoFlush = true })
            : null;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
                log?.WriteLine(line);
            if (e.Data?.Contains("Application started", StringComparison.Ordinal) == true)
                started.TrySetResult();
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
                log?.WriteLine(line);
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (await Task.WhenAny(started.Task, Task.Delay(TimeSpan.FromSeconds(90))) != started.Task)
        {
            // Not left running: the caller never gets the process to stop it (e.g. the broker was down all along).
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            process.Dispose();
            throw new InvalidOperationException("The worker did not start.");
        }

        return process;
    }
}
