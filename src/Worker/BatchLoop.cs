using Microsoft.EntityFrameworkCore;
using OpenTelemetry;

namespace FeedbackHub.Worker;

/// <summary>
/// A background job that works in batches: the next batch starts at once while batches come back full, otherwise
/// after a pause. Database and timeout errors are logged (through a <see cref="FailureStreak"/>, so an outage is one
/// warning, not one per pass) and the loop goes on; stopping the host ends it.
/// </summary>
/// <param name="name">The loop's name in log lines (e.g. "outbox relay").</param>
/// <param name="operation">What one pass does, in log lines (e.g. "publishing due messages").</param>
public abstract class BatchLoop(TimeProvider time, ILogger logger, string name, string operation) : BackgroundService
{
    private readonly FailureStreak _failures = new(name, operation, logger, time);

    protected TimeProvider Time { get; } = time;

    protected abstract int BatchSize { get; }

    protected abstract TimeSpan Pause { get; }

    /// <summary>Runs one batch; returns how many items it handled.</summary>
    protected abstract Task<int> RunBatchAsync(CancellationToken ct);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            int handled;
            try
            {
                // Polls are not traced (five a second per loop would drown the traces): a job traces the work it finds.
                using (SuppressInstrumentationScope.Begin())
                    handled = await RunBatchAsync(stoppingToken);
                _failures.Succeeded();
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or DbUpdateException or InvalidOperationException or TimeoutException)
            {
                _failures.Failed(e);
                handled = 0;
            }

            if (handled >= BatchSize)
                continue; // more may be waiting right now
            try
            {
                await Task.Delay(Pause, Time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
